// The migration that moved models to nn's binary network format: a model row written in the old
// flat format (a bare little-endian Float64Array) reads back after it as the same network.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActivationName, Network as NnNetwork, serializeBinary } from '@backprop/nn';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createDb,
  type Db,
  DEFAULT_TENANT_ID,
  dropDatabase,
  float64ToBytes,
  migrate,
  storedModelBytes,
} from '../src/index.ts';
import { MIGRATIONS_DIR } from '../src/migrate.ts';
import { databaseUrlFor } from '../src/testing.ts';

const MIGRATION = '20261201155710_model_weights_nn_format';
const url = databaseUrlFor(`bp_test_model_format_${process.pid}_${Date.now()}`);
let before: string | undefined;
afterAll(async () => {
  await dropDatabase(url);
  if (before) await rm(before, { recursive: true, force: true });
});

/** A copy of prisma/migrations holding only the migrations before MIGRATION. */
async function migrationsBefore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bp-migrations-'));
  for (const entry of await readdir(MIGRATIONS_DIR)) {
    if (entry >= MIGRATION && entry !== 'migration_lock.toml') continue;
    await cp(join(MIGRATIONS_DIR, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** W1, b1, ..., WL, bL row after row: the old format of a model's parameters column. */
function flatOf(net: NnNetwork): Float64Array {
  const matrices = net.parameterMatrices();
  const parts: number[] = [];
  for (let l = 1; l <= net.depth; l++) parts.push(...matrices[`W${l}`]!.data, ...matrices[`b${l}`]!.data);
  return Float64Array.from(parts);
}

type OldLayer = { units: number; activation: ActivationName; slope?: number };

/** The rows as the schema before the migration had them, in SQL (the client is the newest schema's). */
async function insertOldModel(db: Db, layers: OldLayer[], net: NnNetwork): Promise<string> {
  const task = layers.at(-1)!.activation === 'linear' ? 'regression' : 'multiclass';
  const [row] = await db.$queryRaw<{ id: string }[]>`
    WITH d AS (
      INSERT INTO "Dataset" ("tenantId", "name", "task", "samples", "features", "featureNames",
                             "labelName", "classes", "x", "y", "featureStats", "byteSize")
      VALUES (${DEFAULT_TENANT_ID}::uuid, 'points', ${task}::"Task", 1, 2, '["a","b"]', 'label',
              NULL, ${float64ToBytes(Float64Array.of(1, 2))}, ${float64ToBytes(Float64Array.of(0))},
              '[]', 24)
      RETURNING "id"),
    n AS (
      INSERT INTO "Network" ("tenantId", "name", "inputSize", "layers", "init", "parameterCount")
      VALUES (${DEFAULT_TENANT_ID}::uuid, 'net', 2, ${JSON.stringify(layers)}::jsonb, 'xavier',
              ${flatOf(net).length}::integer)
      RETURNING "id"),
    j AS (
      INSERT INTO "TrainingJob" ("tenantId", "datasetId", "networkId", "status", "training",
                                 "iterations", "costEvery")
      SELECT ${DEFAULT_TENANT_ID}::uuid, d."id", n."id", 'succeeded', '{}', 1, 1 FROM d, n
      RETURNING "id")
    INSERT INTO "Model" ("tenantId", "jobId", "inputSize", "layers", "task", "classes",
                         "parameters", "normalization", "metrics")
    SELECT ${DEFAULT_TENANT_ID}::uuid, j."id", 2, ${JSON.stringify(layers)}::jsonb, ${task}::"Task",
           NULL, ${float64ToBytes(flatOf(net))}, '{"kind":"none"}', '{}' FROM j
    RETURNING "id"`;
  return row!.id;
}

describe('migration model_weights_nn_format', () => {
  it("turns flat float64 models into nn's bytes of the same networks, for every activation", async () => {
    before = await migrationsBefore();
    await migrate(url, { migrationsDir: before });
    const db = createDb({ databaseUrl: url, poolMax: 1 });
    try {
      // Every activation code, stored the way completeJob stored layers (slope only when given:
      // a leaky_relu with its own slope and one with the default), and awkward doubles.
      const networks = [
        [
          { units: 3, activation: 'leaky_relu', slope: 0.2 },
          { units: 2, activation: 'leaky_relu' },
          { units: 2, activation: 'relu' },
          { units: 2, activation: 'tanh' },
          { units: 2, activation: 'sigmoid' },
          { units: 3, activation: 'softmax' },
        ],
        [
          { units: 1, activation: 'tanh' },
          { units: 1, activation: 'linear' },
        ],
      ] satisfies OldLayer[][];
      const models = [];
      for (const [i, layers] of networks.entries()) {
        const net = NnNetwork.create({ inputSize: 2, layers, seed: 7 + i });
        const W1 = net.weights.W[1]!.data;
        [W1[0], W1[1]] = [-0, i === 0 ? 5e-324 : Number.MAX_VALUE];
        models.push({ id: await insertOldModel(db, layers, net), net, layers });
      }

      expect((await migrate(url)).applied[0]).toBe(MIGRATION);

      for (const { id, net, layers } of models) {
        const migrated = await db.model.findUniqueOrThrow({ where: { id } });
        expect(Buffer.from(migrated.parameters)).toEqual(Buffer.from(serializeBinary(net)));
        expect(migrated.parameters.byteLength).toBe(storedModelBytes(layers.length, flatOf(net).length));
      }
      // the helper function of the migration is gone
      const functions = await db.$queryRaw<unknown[]>`
        SELECT 1 FROM pg_proc WHERE proname = 'bp_little_endian'`;
      expect(functions).toEqual([]);
    } finally {
      await db.$disconnect();
    }
  });
});
