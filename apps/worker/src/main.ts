/**
 * The worker process: one worker (worker.ts) on the environment's settings, stopped gracefully on
 * SIGTERM or SIGINT within SHUTDOWN_TIMEOUT_MS.
 */
import pino from 'pino';
import { loadWorkerEnv } from './env.ts';
import { createWorker, type RunningWorker, WorkerStartError } from './worker.ts';

const env = loadWorkerEnv();
const log = pino({ level: env.LOG_LEVEL, base: { service: 'worker', pid: process.pid } });
let worker: RunningWorker | null = null;
// Stop signals are handled from the first line on: until a handler exists, SIGTERM's default
// action kills the process outright, and a stop sent while the worker boots (an orchestrator, a
// test that saw 'worker ready' a moment early) would hit it. Before the worker is up it has
// taken no job, so there is nothing to hand back: it just exits.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (worker) {
      void shutdown(worker, signal);
      return;
    }
    log.info({ signal }, 'stop signal during startup: exiting before taking any job');
    process.exit(0);
  });
}

try {
  worker = await createWorker(env, {
    log,
    onFatal(reason, details) {
      log.fatal(details, reason);
      process.exit(1);
    },
  });
} catch (err) {
  if (err instanceof WorkerStartError) log.fatal(err.details, err.message);
  else log.fatal({ err }, 'the worker could not start');
  process.exit(1);
}

async function shutdown(running: RunningWorker, signal: string): Promise<void> {
  log.info({ signal }, 'stop signal');
  const force = setTimeout(() => {
    log.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  await running.close();
  process.exit(0);
}
