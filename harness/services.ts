/**
 * Private Postgres and Redis servers for fault tests. The machine's shared servers (5432, 6379)
 * serve every other test and every other engineer, so a test that stops, kills or fills a server
 * must own it: each instance here runs on a free port, in its own temporary directory, and is
 * removed by `destroy()` (call it from afterAll; it never throws and is safe to call twice).
 *
 * Postgres refuses to run as root, so as root initdb, pg_ctl and postgres run as the `postgres`
 * OS user (runuser), in a directory that user owns.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Servers still alive when this process exits (a crashed or interrupted test run) are killed on
 * the way out, synchronously, so no orphan keeps a port or a directory.
 */
const alive = new Set<{ killNow(): void }>();
process.once('exit', () => {
  for (const instance of alive) instance.killNow();
});

/** Ports handed out by this process, so two instances started at once never get the same one. */
const handedOut = new Set<number>();

/** A TCP port nobody listens on right now (the kernel's choice, then released). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Polls `check` until it is true; throws with `what` after timeoutMs. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** One RESP command over a fresh socket, answered within timeoutMs (no client library, no retry). */
export function redisCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis :${port} ${args[0]}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer);
    };
    socket.once('error', finish);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.endsWith('\r\n') && isCompleteReply(answer)) finish(null);
    });
    socket.on('close', () => finish(null));
    socket.connect(port, '127.0.0.1', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  });
}

/** Enough of RESP for the replies used here: simple, error, integer, bulk and flat arrays. */
function isCompleteReply(reply: string): boolean {
  const kind = reply[0];
  if (kind === '+' || kind === '-' || kind === ':') return true;
  if (kind === '$') return reply.startsWith('$-1') || reply.split('\r\n').length >= 3;
  if (kind === '*') {
    const count = Number(reply.slice(1, reply.indexOf('\r\n')));
    return count <= 0 || reply.split('\r\n').length >= 1 + 2 * count + 1;
  }
  return true;
}

// ---- Redis -----------------------------------------------------------------------------------

export interface PrivateRedisOptions {
  /** e.g. '20mb'; none by default */
  maxmemory?: string;
  /** default noeviction (what BullMQ needs) */
  maxmemoryPolicy?: string;
}

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'bp-redis-'));
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly options: PrivateRedisOptions,
  ) {}

  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), options);
    alive.add(redis);
    await redis.start();
    return redis;
  }

  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts redis-server on the same port and directory (so its AOF is replayed). */
  async start(): Promise<void> {
    if (this.running) return;
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--daemonize',
      'no',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      this.options.maxmemoryPolicy ?? 'noeviction',
      '--dir',
      this.dir,
      '--logfile',
      join(this.dir, 'redis.log'),
      ...(this.options.maxmemory ? ['--maxmemory', this.options.maxmemory] : []),
    ];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const child = this.child;
    await waitUntil(
      `redis :${this.port} up`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        return (await redisCommand(this.port, ['PING'], 500)).startsWith('+PONG');
      },
      30_000,
    );
  }

  /** Sends a command and returns the raw RESP reply. */
  command(...args: string[]): Promise<string> {
    return redisCommand(this.port, args);
  }

  /** A graceful stop: SHUTDOWN (the AOF is flushed), then waits for the process to end. */
  async shutdown(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await redisCommand(this.port, ['SHUTDOWN']).catch(() => undefined);
    await Promise.race([exited, sleep(10_000)]);
    if (this.running) await this.kill();
  }

  /** kill -9: whatever the AOF had not written in the last second is lost. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    alive.delete(this);
  }
}

/** Sends `signal` to each process; one that is gone meanwhile is skipped. */
function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- Postgres --------------------------------------------------------------------------------

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('no Postgres server binaries under /usr/lib/postgresql');
  return join(root, versions[0]!, 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a Postgres binary, as the `postgres` OS user when we are root. */
async function pgRun(bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const file = join(postgresBin(), bin);
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  const { stdout } = await run(command, commandArgs, { timeout: timeoutMs, cwd: tmpdir() });
  return stdout;
}

export class PrivatePostgres {
  readonly dir: string;
  private constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'bp-pg-'));
    if (asRoot) {
      const uid = Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m)?.[1]);
      const gid = Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m)?.[2]);
      chownSync(this.dir, uid, gid);
    }
  }

  static async start(): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres(await freePort());
    alive.add(pg);
    await pgRun('initdb', ['-D', pg.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await pg.start();
    return pg;
  }

  killNow(): void {
    const pid = this.pid;
    if (pid !== null) {
      try {
        execFileSync(asRoot ? 'runuser' : join(postgresBin(), 'pg_ctl'), [
          ...(asRoot ? ['-u', 'postgres', '--', join(postgresBin(), 'pg_ctl')] : []),
          ...['-D', this.data, '-m', 'immediate', '-w', '-t', '20', 'stop'],
        ]);
      } catch {
        // nothing more can be done on the way out
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** The URL of database `name` on this server. */
  url(name = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${name}`;
  }

  /** The postmaster's PID, or null if it is not running. */
  get pid(): number | null {
    const file = join(this.data, 'postmaster.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }

  async start(): Promise<void> {
    if (this.pid !== null) return;
    // fsync off: the tests kill processes, never the machine, so the page cache survives and
    // committed transactions stay committed (synchronous_commit stays on).
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${this.dir}`,
      '-c fsync=off',
      '-c max_connections=100',
    ].join(' ');
    await pgRun('pg_ctl', [
      '-D',
      this.data,
      '-o',
      options,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** pg_ctl stop (fast: sessions are terminated, the shutdown checkpoint is written). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (this.pid === null) return;
    await pgRun('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** kill -9 of the postmaster and its backends: the next start runs crash recovery. */
  async kill(): Promise<void> {
    const pids = await this.serverPids();
    signalAll(pids, 'SIGKILL');
    // A new postmaster refuses to start while an old backend still holds the shared memory.
    await waitUntil(`postgres :${this.port} processes gone`, () => pids.every((p) => !isAlive(p)), 15_000);
  }

  /** SIGSTOP (or SIGCONT) the postmaster and its backends: a frozen VM or a partition, not a crash. */
  async freeze(frozen = true): Promise<void> {
    signalAll(await this.serverPids(), frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** The postmaster and its backends (its children); none when it is not running. */
  private async serverPids(): Promise<number[]> {
    const pid = this.pid;
    if (pid === null) return [];
    const children = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]).then(
      ({ stdout }) =>
        stdout
          .split('\n')
          .map(Number)
          .filter((p) => p > 0),
      () => [],
    );
    return [pid, ...children];
  }

  async destroy(): Promise<void> {
    await this.freeze(false).catch(() => undefined);
    await this.stop('immediate').catch(() => this.kill().catch(() => undefined));
    if (this.pid !== null) await this.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    alive.delete(this);
  }
}
