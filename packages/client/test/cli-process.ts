/** The `backprop` binary as a user runs it: a child process with its own config directory. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const BIN = fileURLToPath(new URL('../bin/backprop.mjs', import.meta.url));

/** The arguments that define the course's planar network (2 → 4 tanh → 1 sigmoid). */
export const PLANAR_NETWORK_ARGS = [
  'networks',
  'create',
  '--input',
  '2',
  '--layer',
  '4:tanh',
  '--layer',
  '1:sigmoid',
];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI whose config lives under `home` (no login from the caller's env). */
const cliEnv = (home: string) => ({
  ...process.env,
  XDG_CONFIG_HOME: home,
  BACKPROP_URL: '',
  BACKPROP_API_KEY: '',
});

/** Runs the CLI to its end. */
export async function runCli(home: string, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: cliEnv(home),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return execFailure(err);
  }
}

/** A running CLI with its standard streams, for input and signals. */
export interface LiveCli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout or stderr (as `stream` says) matches. */
  waitFor: (stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number) => Promise<void>;
  exited: Promise<CliResult>;
}

export function spawnCli(home: string, ...args: string[]): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(home), stdio: 'pipe' });
  const out = { stdout: '', stderr: '' };
  // Each waiter is called on new output, and with `ended` once the process has exited.
  const waiters: ((ended?: boolean) => void)[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => {
      out[stream] += chunk;
      for (const waiter of [...waiters]) waiter();
    });
  }
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => {
      resolve({ code: code ?? -1, ...out });
      for (const waiter of [...waiters]) waiter(true);
    }),
  );
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitFor: (stream, pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const settle = (why: string | null) => {
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          if (why === null) resolve();
          else
            reject(
              new Error(`the CLI's ${stream} did not match ${pattern}: ${why}\n${out.stdout}\n${out.stderr}`),
            );
        };
        const check = (ended = false) => {
          if (pattern.test(out[stream])) settle(null);
          else if (ended) settle(`it exited with ${child.exitCode}`);
        };
        const timer = setTimeout(() => settle(`not within ${timeoutMs} ms`), timeoutMs);
        waiters.push(check);
        check(child.exitCode !== null);
      }),
  };
}

/** execFile's failure: its exit code and output. */
function execFailure(err: unknown): CliResult {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'number') {
    const stdout = 'stdout' in err && typeof err.stdout === 'string' ? err.stdout : '';
    const stderr = 'stderr' in err && typeof err.stderr === 'string' ? err.stderr : '';
    return { code: err.code, stdout, stderr };
  }
  throw err;
}
