/** Runs the API: parses the environment, composes the API, listens, and shuts down gracefully. */
import { createApi } from './api.ts';
import { loadApiEnv } from './env.ts';

const env = loadApiEnv();
const app = await createApi(env, { onEvictingRedis: () => process.exit(1) });

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
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ host: env.HOST, port: env.PORT });
