// Applies the committed SQL migrations in prisma/migrations, like `prisma migrate deploy`, without
// the Prisma CLI's native engine: the WebAssembly schema engine (schema-engine.ts) reads the same
// directory, takes the same advisory lock and records each migration in `_prisma_migrations`, so
// the two are interchangeable on a database.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { ensureDatabase } from './databases.ts';
import { type EngineLog, withSchemaEngine } from './schema-engine.ts';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/backprop';

/** The repository's prisma/ directory (schema.prisma and migrations/). */
export const PRISMA_DIR = fileURLToPath(new URL('../../../prisma/', import.meta.url));
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');

/** Entities the schema engine should leave alone: none. */
export const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Reads the migrations directory the way the Prisma CLI hands it to the schema engine. */
export async function readMigrations(migrationsDir: string = MIGRATIONS_DIR): Promise<MigrationList> {
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  const entries = existsSync(migrationsDir) ? await readdir(migrationsDir, { withFileTypes: true }) : [];
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => {
      const file = join(migrationsDir, name, 'migration.sql');
      const content = await readFile(file, 'utf8').then(
        (value) => ({ tag: 'ok' as const, value }),
        (error: Error) => ({ tag: 'error' as const, value: error.message }),
      );
      return { path: name, migrationFile: { path: 'migration.sql', content } };
    }),
  );
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

export interface MigrateOptions {
  /** Directory of `<timestamp>_<name>/migration.sql` folders; default: the repo's prisma/migrations. */
  migrationsDir?: string;
  /** Receives the engine's JSON log lines. */
  log?: EngineLog;
}

/**
 * Creates the database if missing and applies the pending migrations, recording them in
 * `_prisma_migrations`. Safe to run concurrently from several processes (the engine serialises
 * them with an advisory lock) and a no-op when everything is applied. Fails, applying nothing
 * more, if an applied migration's file was edited or an earlier migration failed.
 */
export async function migrate(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<{ applied: string[]; createdDatabase: boolean }> {
  const createdDatabase = await ensureDatabase(databaseUrl);
  const migrationsList = await readMigrations(options.migrationsDir);
  const applied = await withSchemaEngine(
    databaseUrl,
    async (engine) => {
      const output = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
      return output.appliedMigrationNames;
    },
    options.log === undefined ? {} : { log: options.log },
  );
  return { applied, createdDatabase };
}

/**
 * The SQL that takes a database from the committed migrations to prisma/schema.prisma (stdout;
 * exitCode 0 when there is none). The migrations are replayed in a temporary shadow database on
 * the server of `databaseUrl`.
 */
export async function diffMigrationsToSchema(databaseUrl: string) {
  const [schema, migrationsList] = await Promise.all([readFile(SCHEMA_PATH, 'utf8'), readMigrations()]);
  // The engine's createMigration cannot reach a shadow database in its WebAssembly build (it does
  // not receive the adapter factory), but diff can: migrations (replayed in a shadow database) → schema.
  return withSchemaEngine(databaseUrl, (engine) =>
    engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] },
      script: true,
      exitCode: true,
      filters: NO_FILTERS,
    }),
  );
}
