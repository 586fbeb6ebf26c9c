// The read of one of a tenant's rows by its id, the shape every repository's get shares.
import { type DbOrTx, isUuid } from './internal.ts';

/** Which row: its id, within its tenant (another tenant's id is as missing as an unknown one). */
export interface TenantRowKey {
  id: string;
  tenantId: string;
}

/**
 * A repository's get of one of the tenant's rows: `(db, tenantId, id)`, null when the row is
 * missing. An id that is not a uuid is null without a query, since Postgres would reject it.
 */
export function tenantLookup<Row>(
  find: (db: DbOrTx, key: TenantRowKey) => Promise<Row | null>,
): (db: DbOrTx, tenantId: string, id: string) => Promise<Row | null> {
  return async (db, tenantId, id) => (isUuid(id) ? find(db, { id, tenantId }) : null);
}
