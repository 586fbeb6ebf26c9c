// `npm run db:migrate`: creates the database of DATABASE_URL if missing and applies pending
// migrations. Exit code 0 when the database is up to date.
import { parseCommandLine } from './cli.ts';
import { DEFAULT_DATABASE_URL, migrate } from './migrate.ts';

parseCommandLine(
  `usage: npm run db:migrate

Creates the database of DATABASE_URL if it is missing and applies the pending migrations of
prisma/migrations (as \`prisma migrate deploy\` does, with no engine download). Exits 0 when the
database is up to date. DATABASE_URL defaults to ${DEFAULT_DATABASE_URL}.

options:
  -h, --help   this help`,
  {},
);

const databaseUrl = process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL;
const where = new URL(databaseUrl);
where.password = '';

try {
  const { applied, createdDatabase } = await migrate(databaseUrl);
  if (createdDatabase) console.log(`created database ${where.pathname.slice(1)}`);
  if (applied.length === 0) console.log(`${where.host}${where.pathname}: no pending migrations`);
  for (const name of applied) console.log(`${where.host}${where.pathname}: applied ${name}`);
} catch (error) {
  console.error(
    `migration failed on ${where.host}${where.pathname}:`,
    error instanceof Error ? error.message : error,
  );
  process.exitCode = 1;
}
