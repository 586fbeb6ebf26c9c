/**
 * Service processes for tests, started exactly as the README says (`npm run start:worker`,
 * `npm run start:api`: the command is read from package.json and run without npm in between, so
 * the PID is the service's). Their pino lines are collected for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCRIPTS = (
  JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }
).scripts;

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: LogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
  /** Resolves with the first log line (seen or to come) that matches, or rejects after timeoutMs. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal if the process still runs. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILL, then waits for the exit. */
  killHard(): Promise<void>;
  readonly running: boolean;
}

/** Starts `npm run <script>`'s command without npm in between (so the PID is the service's). */
export function startService(
  name: string,
  script: 'start:api' | 'start:worker',
  env: Record<string, string>,
): ServiceProcess {
  const child = spawn('sh', ['-c', `exec ${SCRIPTS[script]}`], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${ROOT}node_modules/.bin:${process.env['PATH']}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(part) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      // Keep memory bounded in long runs: the oldest lines go first.
      if (lines.length > 20_000) lines.splice(0, 5_000);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    pid: child.pid!,
    lines,
    exited,
    stderr: () => stderr,
    get running() {
      return isRunning();
    },
    waitForLog(match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `${name}: no matching log line within ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(waiter);
      });
    },
    kill(signal = 'SIGTERM') {
      if (isRunning()) child.kill(signal);
    },
    async killHard() {
      if (isRunning()) child.kill('SIGKILL');
      await exited;
    },
  };
}

export type WorkerProcess = ServiceProcess;

/** A worker process (debug logs, so tests can wait on its progress lines). */
export function startWorker(env: Record<string, string>): WorkerProcess {
  return startService('worker', 'start:worker', { LOG_LEVEL: 'debug', ...env });
}

/** Polls `read` until `done` holds or the time runs out. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
