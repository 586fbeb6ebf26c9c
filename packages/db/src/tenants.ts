// Tenants. Every resource belongs to one, and an API key names the tenant of a request. The
// migration 20261126074300_default_tenant inserts a tenant named `default` (no key refers to it
// until an operator creates one with `npm run keys -- create --tenant default`).
import type { Tenant } from './generated/prisma/client.ts';
import type { DbOrTx } from './internal.ts';

export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000001';

export async function createTenant(db: DbOrTx, input: { name: string }): Promise<Tenant> {
  return db.tenant.create({ data: { name: input.name } });
}

export async function getTenantByName(db: DbOrTx, name: string): Promise<Tenant | null> {
  return db.tenant.findUnique({ where: { name } });
}
