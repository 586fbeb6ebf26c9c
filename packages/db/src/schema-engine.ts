// Prisma's schema engine (the one behind `prisma migrate`), run from its WebAssembly build.
//
// The Prisma 7 CLI runs a native schema engine that it downloads on first use; that download is
// not possible in every environment (ours included), and `@prisma/schema-engine-wasm` is the same
// engine compiled to WebAssembly. The package targets bundlers (`import * as wasm from "*.wasm"`),
// so in Node we instantiate the .wasm ourselves, with its JS glue module as the import object.
// The engine talks to Postgres through a driver adapter (`@prisma/adapter-pg`) instead of its own
// drivers. Its version must match the Prisma CLI's `@prisma/engines-version` exactly.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { dropDatabase, ensureDatabase, withDatabase } from './databases.ts';

// The part of the WebAssembly global we use (the DOM lib that types it is not in this project).
type WasmExports = Record<string, unknown>;
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: WasmExports } }>;
};

type Glue = typeof import('@prisma/schema-engine-wasm/schema_engine_bg') & {
  __wbg_set_wasm(exports: WasmExports): void;
};

let engineClass: Promise<typeof SchemaEngine> | undefined;

/** Instantiates the WebAssembly module once per process and returns the SchemaEngine class. */
function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  engineClass ??= (async () => {
    const require = createRequire(import.meta.url);
    // the package's exports map hides the .wasm file: find it beside the glue module
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = join(dirname(gluePath), 'schema_engine_bg.wasm');
    const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as Glue;
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      './schema_engine_bg.js': glue,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports['__wbindgen_start'] as () => void)();
    return glue.SchemaEngine;
  })();
  return engineClass;
}

/** Postgres' internal one-byte `"char"` type (pg_class.relkind, pg_constraint.contype, ...). */
const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * A pg client that reports `"char"` result columns as text. The engine's schema introspection
 * (needed by `diff` from a migrations directory) selects such catalog columns, and
 * @prisma/adapter-pg 7.10 rejects that type ("Column type 'char' could not be deserialized");
 * pg already hands its values over as one-character strings, so only the type id changes.
 */
class CharAsTextClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pass-through of pg's many query overloads
  override query(...args: any[]): any {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, result: pg.QueryResult) => last(error, charAsText(result));
      // biome-ignore lint/suspicious/noExplicitAny: see above
      return (super.query as any)(...args);
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const returned = (super.query as any)(...args);
    return returned instanceof Promise ? returned.then(charAsText) : returned;
  }
}

function charAsText(result: pg.QueryResult | undefined): pg.QueryResult | undefined {
  for (const field of result?.fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  return result;
}

export type EngineLog = (message: string) => void;

/**
 * Runs `fn` with a schema engine connected to `databaseUrl` (and able to create a shadow database
 * on the same server, for `diff`/`createMigration` from a migrations directory), then frees the
 * engine and closes its connections.
 */
export async function withSchemaEngine<T>(
  databaseUrl: string,
  fn: (engine: SchemaEngine) => Promise<T>,
  options: { schema?: string; log?: EngineLog } = {},
): Promise<T> {
  const SchemaEngineClass = await loadSchemaEngine();
  // Every connection the engine opens is tracked and closed here: the engine holds Postgres'
  // migration advisory lock on one of them, and an open pool would keep a process alive.
  const opened: SqlDriverAdapter[] = [];
  const connect = async (url: string) => {
    const pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: 10_000,
      Client: CharAsTextClient,
    });
    const adapter = await new PrismaPg(pool, { disposeExternalPool: true, onPoolError: () => {} }).connect();
    // adapter-pg 7.10 runs a script by splitting it on every ';', comments and string literals
    // included, so a migration with a ';' in a comment fails. Postgres' simple query protocol (a
    // query without parameters) takes the whole script, as the native engine sends it, and runs
    // it as one implicit transaction.
    adapter.executeScript = async (script: string) => {
      await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
    };
    opened.push(adapter);
    return adapter;
  };
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connect(databaseUrl),
    // Not PrismaPg's own connectToShadowDb: it spreads the pool config with another `database`,
    // but a connectionString takes precedence in pg, so the "shadow" pool reaches the main
    // database and the migrations are replayed there.
    connectToShadowDb: async () => {
      const shadowUrl = withDatabase(databaseUrl, `prisma_shadow_${randomUUID().replaceAll('-', '')}`);
      await ensureDatabase(shadowUrl);
      const adapter = await connect(shadowUrl);
      const dispose = adapter.dispose.bind(adapter);
      let disposed: Promise<void> | undefined;
      adapter.dispose = () => {
        disposed ??= dispose().finally(() => dropDatabase(shadowUrl));
        return disposed;
      };
      return adapter;
    },
  };
  const log = options.log ?? (() => {});
  const datamodels: [string, string][] | undefined =
    options.schema === undefined ? undefined : [['schema.prisma', options.schema]];
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngineClass.new(
      { datamodels },
      (message: string) => log(message),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await fn(engine);
  } finally {
    engine?.free();
    for (const adapter of opened) await adapter.dispose().catch(() => {});
  }
}
