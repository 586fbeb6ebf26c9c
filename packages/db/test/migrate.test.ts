import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, DEFAULT_TENANT_ID, dropDatabase, migrate } from '../src/index.ts';
import { diffMigrationsToSchema, readMigrations, SCHEMA_PATH } from '../src/migrate.ts';
import { databaseUrlFor } from '../src/testing.ts';

const url = databaseUrlFor(`bp_test_migrate_${process.pid}_${Date.now()}`);
afterAll(() => dropDatabase(url));

describe('migrate', () => {
  it('creates the database, applies every migration, and a second run is a no-op', async () => {
    const { migrationDirectories } = await readMigrations();
    const names = migrationDirectories.map((dir) => dir.path);
    expect(names.length).toBeGreaterThan(0);

    const first = await migrate(url);
    expect(first).toEqual({ applied: names, createdDatabase: true });
    const second = await migrate(url);
    expect(second).toEqual({ applied: [], createdDatabase: false });

    const db = createDb({ databaseUrl: url, poolMax: 1 });
    try {
      const recorded = await db.$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
        SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`;
      expect(recorded.map((row) => row.migration_name)).toEqual(names);
      expect(recorded.every((row) => row.finished_at !== null)).toBe(true);
      // the seed migration's default tenant
      expect(await db.tenant.findUnique({ where: { id: DEFAULT_TENANT_ID } })).toMatchObject({
        name: 'default',
      });
    } finally {
      await db.$disconnect();
    }
  });

  it('is safe to run from several processes at once (the engine takes an advisory lock)', async () => {
    const concurrentUrl = `${url}_concurrent`;
    try {
      const results = await Promise.all([
        migrate(concurrentUrl),
        migrate(concurrentUrl),
        migrate(concurrentUrl),
      ]);
      const applied = results.flatMap((result) => result.applied);
      const { migrationDirectories } = await readMigrations();
      expect(applied.sort()).toEqual(migrationDirectories.map((dir) => dir.path).sort());
    } finally {
      await dropDatabase(concurrentUrl);
    }
  });

  it('the committed migrations produce exactly prisma/schema.prisma (no drift)', async () => {
    const diff = await diffMigrationsToSchema(url);
    // on failure: run `npm run db:migration -- <name>` and commit the new migration
    expect(diff.stdout?.trim().replace(/^-- This is an empty migration\.$/, '')).toBe('');
    expect(diff.exitCode).toBe(0);
  });

  it('the generated client is current with prisma/schema.prisma', async () => {
    const schema = await readFile(SCHEMA_PATH, 'utf8');
    const generated = await readFile(
      new URL('../src/generated/prisma/internal/class.ts', import.meta.url),
      'utf8',
    );
    const inline = /"inlineSchema": ("(?:[^"\\]|\\.)*")/.exec(generated)?.[1];
    // on failure: run `npm run db:generate`
    expect(inline && JSON.parse(inline)).toBe(schema);
  });
});
