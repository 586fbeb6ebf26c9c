/** Runs the API: parses the environment, connects, listens, and shuts down gracefully. */
import { createDb } from '@backprop/db';
import { buildApp } from './app.ts';
import { loadApiEnv } from './env.ts';
import { createTrainingQueue, watchEvictionPolicy } from './queue.ts';

const env = loadApiEnv();
const db = createDb({ databaseUrl: env.DATABASE_URL, poolMax: env.DB_POOL_MAX });
const { queue, redis } = createTrainingQueue(env.REDIS_URL, env.JOB_ATTEMPTS, env.QUEUE_PREFIX);
const app = await buildApp({ env, db, queue, redis });
// Redis need not be up for the API to start (reads come from Postgres; submits answer 503), but
// a Redis that may evict keys must not be used at all: stop, like the worker does.
watchEvictionPolicy(redis, (policy) => {
  app.log.fatal({ policy }, 'Redis maxmemory-policy must be noeviction; stopping');
  process.exit(1);
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    app.log.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  await app.close();
  await Promise.allSettled([queue.close(), db.$disconnect()]);
  redis.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ host: env.HOST, port: env.PORT });
