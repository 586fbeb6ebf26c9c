/**
 * The API composed from its settings: a Postgres pool, the training queue with its Redis
 * connection, and the Fastify app over them. server.ts runs one; tests create theirs the same
 * way. Closing the app closes what createApi opened.
 */
import { createDb, type Db } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import { type AppDeps, buildApp } from './app.ts';
import type { ApiEnv } from './env.ts';
import { createTrainingQueue, watchEvictionPolicy } from './queue.ts';

export interface ApiOptions {
  /** Default: a pool of its own on env.DATABASE_URL, closed with the app. */
  db?: Db;
  logStream?: AppDeps['logStream'];
  /**
   * Redis may evict keys (checked at every connect; the API has logged it as fatal by then).
   * server.ts exits: BullMQ loses work on such a Redis.
   */
  onEvictingRedis?: (policy: string) => void;
}

export async function createApi(env: ApiEnv, options: ApiOptions = {}): Promise<FastifyInstance> {
  const db = options.db ?? createDb({ databaseUrl: env.DATABASE_URL, poolMax: env.DB_POOL_MAX });
  const { queue, redis } = createTrainingQueue(env.REDIS_URL, env.JOB_ATTEMPTS, env.QUEUE_PREFIX);
  const closeOwn = async () => {
    await Promise.allSettled([queue.close(), options.db ? undefined : db.$disconnect()]);
    redis.disconnect();
  };
  let app: FastifyInstance;
  try {
    app = await buildApp({
      env,
      db,
      queue,
      redis,
      ...(options.logStream ? { logStream: options.logStream } : {}),
    });
  } catch (err) {
    await closeOwn();
    throw err;
  }
  app.addHook('onClose', closeOwn);
  // Redis need not be up for the API to start (reads come from Postgres; submits answer 503), but
  // a Redis that may evict keys must not be used at all.
  watchEvictionPolicy(redis, (policy) => {
    app.log.fatal({ policy }, 'Redis maxmemory-policy must be noeviction; stopping');
    options.onEvictingRedis?.(policy);
  });
  return app;
}
