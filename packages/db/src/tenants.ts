// Tenants. Every resource belongs to one; until authentication arrives every request acts as the
// default tenant, which the migration 20261126074300_default_tenant inserts.
import type { Tenant } from './generated/prisma/client.ts';
import type { DbOrTx } from './internal.ts';

export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000001';

export async function createTenant(db: DbOrTx, input: { name: string }): Promise<Tenant> {
  return db.tenant.create({ data: { name: input.name } });
}

export async function getTenantByName(db: DbOrTx, name: string): Promise<Tenant | null> {
  return db.tenant.findUnique({ where: { name } });
}
