/**
 * `npm run keys -- <command>`: manage API keys (an operator's tool; it talks to Postgres directly,
 * so it must be given the DATABASE_URL the API uses). `npm run keys -- --help` lists the commands.
 */
import {
  createApiKey,
  createDb,
  createTenant,
  getTenantByName,
  listApiKeys,
  revokeApiKey,
} from '@backprop/db';
import { parseCommandLine, usageError } from '@backprop/db/cli';

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/backprop';
const USAGE = `usage: npm run keys -- <command> [options]

Creates, lists and revokes the API keys that every /v1 request needs. It writes to Postgres
directly: run it with the DATABASE_URL the API uses (default ${DEFAULT_DATABASE_URL}).

commands:
  create --tenant <name> [--name <label>]   creates the tenant if needed, and a key for it;
                                            prints the key once (only its hash is stored)
  list [--tenant <name>]                    keys with their id, tenant, prefix and state
  revoke <key id>                           the key stops working on its next request

options:
  -h, --help                                this help`;

const { positionals, values } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { tenant: { type: 'string' }, name: { type: 'string' } },
});
const [command, ...rest] = positionals;
const out = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string): never => usageError(USAGE, message);

if (command !== 'create' && command !== 'list' && command !== 'revoke') {
  fail(command ? `unknown command ${command}` : 'missing command');
}
const tooMany = command === 'revoke' ? rest.length > 1 : rest.length > 0;
if (tooMany) fail(`${command}: unexpected argument ${rest.at(-1)}`);
if (command === 'create' && values.tenant === undefined) fail('create needs --tenant <name>');
if (command === 'revoke' && rest[0] === undefined) fail('revoke needs a key id');

const databaseUrl = process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL;
const db = createDb({ databaseUrl, poolMax: 1 });
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
    if (values.tenant !== undefined && !tenant) throw new Error(`no tenant named ${values.tenant}`);
    for (const k of await listApiKeys(db, tenant?.id)) {
      const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
      out(`${k.id}  tenant ${k.tenantId}  ${k.prefix}…  ${k.name}  ${state}`);
    }
  } else {
    const id = rest[0] ?? fail('revoke needs a key id');
    if (!(await revokeApiKey(db, id))) throw new Error(`no active key ${id}`);
    out(`revoked ${id}`);
  }
} catch (error) {
  // A database that cannot be reached (or is not migrated) is the operator's to fix: say which.
  // Prisma's messages end with the cause, after a code frame of the call.
  const cause = (error instanceof Error ? error.message : String(error)).trim().split('\n').at(-1);
  const where = new URL(databaseUrl);
  where.password = '';
  process.stderr.write(`keys: ${cause} (DATABASE_URL ${where.href})\n`);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
}
