/**
 * `npm run keys -- <command>`: manage API keys (an operator's tool; it talks to Postgres directly).
 *
 *   create --tenant <name> [--name <label>]   creates the tenant if needed; prints the key once
 *   list [--tenant <name>]                    keys with their id, tenant, prefix and state
 *   revoke <key id>                           the key stops working on its next request
 */
import { parseArgs } from 'node:util';
import {
  createApiKey,
  createDb,
  createTenant,
  getTenantByName,
  listApiKeys,
  revokeApiKey,
} from '@backprop/db';

const USAGE = `usage: npm run keys -- create --tenant <name> [--name <label>]
       npm run keys -- list [--tenant <name>]
       npm run keys -- revoke <key id>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tenant: { type: 'string' }, name: { type: 'string' } },
});
const [command, ...rest] = positionals;
const out = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string): never => {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
};

const db = createDb({
  databaseUrl: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/backprop',
  poolMax: 1,
});
try {
  if (command === 'create') {
    const tenantName = values.tenant ?? fail('create needs --tenant <name>');
    const tenant = (await getTenantByName(db, tenantName)) ?? (await createTenant(db, { name: tenantName }));
    const { key, apiKey } = await createApiKey(db, { tenantId: tenant.id, name: values.name ?? 'default' });
    out(`created key ${apiKey.id} for tenant ${tenant.name} (${tenant.id})`);
    out('the key is shown only now; keep it secret:');
    out(key);
  } else if (command === 'list') {
    const tenant = values.tenant === undefined ? undefined : await getTenantByName(db, values.tenant);
    if (values.tenant !== undefined && !tenant) fail(`no tenant named ${values.tenant}`);
    for (const k of await listApiKeys(db, tenant?.id)) {
      const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
      out(`${k.id}  tenant ${k.tenantId}  ${k.prefix}…  ${k.name}  ${state}`);
    }
  } else if (command === 'revoke') {
    const id = rest[0] ?? fail('revoke needs a key id');
    if (!(await revokeApiKey(db, id))) fail(`no active key ${id}`);
    out(`revoked ${id}`);
  } else {
    fail(command ? `unknown command ${command}` : 'missing command');
  }
} finally {
  await db.$disconnect();
}
