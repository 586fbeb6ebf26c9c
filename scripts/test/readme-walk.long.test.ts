/**
 * The README's walk through the API, run as a newcomer would: `npm start` on a fresh database,
 * then every command block of the walk pasted, in order, into one bash. Each block must succeed,
 * and what it prints must have the shape of the answer the README shows after it (the same keys
 * all the way down, the same statuses, codes and labels; ids and times differ). Then Ctrl-C (a
 * SIGINT to the foreground process group) stops the API and the worker.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import { Lexer, type Tokens } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Step {
  /** The command block, as in the README. */
  commands: string;
  /** The answers the README shows after it, one value each (null where elided with `...`). */
  answers: (unknown | null)[] | undefined;
}

/** The walk's command blocks (sh, without a `$ ` prompt) and the answer block after each. */
function walkSteps(): Step[] {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  const start = readme.indexOf('## A walk through the API');
  const end = readme.indexOf('\n## ', start + 1);
  const blocks = new Lexer()
    .lex(readme.slice(start, end))
    .filter((token): token is Tokens.Code => token.type === 'code');
  const steps: Step[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'sh' || block.text.startsWith('$ ')) return;
    const next = blocks[i + 1];
    const answers = next && next.lang !== 'sh' ? answerValues(next.text) : undefined;
    steps.push({ commands: block.text, answers });
  });
  return steps;
}

/**
 * The values in an answer block: JSON documents or bare numbers, one per line that starts at the
 * margin (a wrapped document goes on in indented lines); null for one elided with `...`.
 */
function answerValues(text: string): (unknown | null)[] {
  const documents = text.split(/\n(?=\S)/);
  return documents.map((document) => {
    try {
      return JSON.parse(document);
    } catch {
      return null;
    }
  });
}

/** The values a command block printed: one JSON document or number per line. */
function printedValues(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** Fields whose values the README's answers fix (the rest are ids, times, numbers that vary). */
const FIXED = new Set(['status', 'statusCode', 'code', 'task', 'label', 'name', 'kind', 'activation']);

/** Differences in shape between what the README shows and what was printed. */
function shapeDifferences(shown: unknown, printed: unknown, at = '$'): string[] {
  if (Array.isArray(shown)) {
    if (!Array.isArray(printed)) return [`${at}: an array in the README, ${JSON.stringify(printed)} here`];
    return shown.flatMap((item, i) => shapeDifferences(item, printed[i], `${at}[${i}]`));
  }
  if (typeof shown === 'object' && shown !== null) {
    if (typeof printed !== 'object' || printed === null || Array.isArray(printed)) {
      return [`${at}: an object in the README, ${JSON.stringify(printed)} here`];
    }
    const shownKeys = Object.keys(shown).sort();
    const printedKeys = Object.keys(printed).sort();
    if (shownKeys.join() !== printedKeys.join()) {
      return [`${at}: keys ${shownKeys.join(',')} in the README, ${printedKeys.join(',')} here`];
    }
    return shownKeys.flatMap((key) => {
      const a = (shown as Record<string, unknown>)[key];
      const b = (printed as Record<string, unknown>)[key];
      if (FIXED.has(key) && typeof a !== 'object' && a !== b) {
        return [`${at}.${key}: ${JSON.stringify(a)} in the README, ${JSON.stringify(b)} here`];
      }
      return shapeDifferences(a, b, `${at}.${key}`);
    });
  }
  if (typeof shown === 'number' && at === '$') {
    return shown === printed ? [] : [`${at}: ${shown} in the README, ${JSON.stringify(printed)} here`];
  }
  return typeof shown === typeof printed || shown === null || printed === null
    ? []
    : [`${at}: ${typeof shown} in the README, ${typeof printed} here`];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function bash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

interface Service {
  npm: ChildProcess;
  port: number;
  env: Record<string, string>;
  exited: Promise<number | null>;
}

/**
 * `npm start` in its own process group (as a terminal's foreground job is: Ctrl-C signals the
 * whole group), on a free port; resolves once /readyz answers 200.
 */
async function npmStart(databaseUrl: string): Promise<Service> {
  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: `bp-readme-${process.pid}-${port}`,
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  services.push(npm);
  for (let waited = 0; ; waited += 500) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return { npm, port, env, exited };
    if (waited > 120_000) throw new Error('npm start did not become ready in 120 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Resolves true once no process of the group is left (false after 30 s). */
async function groupGone(pgid: number): Promise<boolean> {
  for (let waited = 0; waited < 30_000; waited += 250) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const portRefuses = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => false,
    () => true,
  );

const services: ChildProcess[] = [];
let database: TestDatabase;
let service: Service;

beforeAll(async () => {
  database = await createTestDatabase({ poolMax: 1 });
  service = await npmStart(database.url);
});

afterAll(async () => {
  for (const npm of services) {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {}
  }
  await database?.drop();
});

describe('the README walk through the API', () => {
  it('runs pasted block by block, and each block prints answers shaped as the README shows', async () => {
    const steps = walkSteps();
    expect(steps.length).toBeGreaterThan(5);
    const marker = '@@step';
    const script = [
      'set -euo pipefail',
      ...steps.map(
        (step, i) =>
          `echo ${marker} ${i}\n${step.commands.replaceAll('localhost:3000', `localhost:${service.port}`)}`,
      ),
      `echo ${marker} end`,
      ...['KEY', 'DATASET', 'NETWORK', 'JOB', 'MODEL'].map((name) => `echo "${name}=$${name}"`),
    ].join('\n');
    const run = await bash(script, service.env);
    expect(run.code, `${run.stderr}\n${run.stdout.slice(-2000)}`).toBe(0);
    const parts = run.stdout.split(new RegExp(`^${marker} `, 'm')).slice(1);
    const variables = Object.fromEntries(
      parts
        .at(-1)!
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => line.split('=')),
    );
    expect(variables['KEY']).toMatch(/^bp_\S{20,}$/);
    for (const name of ['DATASET', 'NETWORK', 'JOB', 'MODEL']) {
      expect(variables[name], name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const differences: string[] = [];
    steps.forEach((step, i) => {
      const printed = printedValues(parts[i]!.split('\n').slice(1).join('\n'));
      if (step.answers === undefined) return;
      if (printed.length !== step.answers.length) {
        differences.push(
          `step ${i}: ${step.answers.length} answers in the README, ${printed.length} printed`,
        );
        return;
      }
      step.answers.forEach((shown, j) => {
        if (shown !== null)
          differences.push(...shapeDifferences(shown, printed[j]).map((d) => `step ${i}.${j} ${d}`));
      });
    });
    expect(differences).toEqual([]);
  });

  it('Ctrl-C (SIGINT to the foreground group) stops npm start, the API and the worker', async () => {
    process.kill(-service.npm.pid!, 'SIGINT');
    await service.exited;
    expect(await groupGone(service.npm.pid!)).toBe(true);
    expect(await portRefuses(service.port)).toBe(true);
  });

  it("SIGTERM to npm alone (a process manager's stop) stops the API and the worker too", async () => {
    const other = await npmStart(database.url);
    process.kill(other.npm.pid!, 'SIGTERM');
    await other.exited;
    expect(await groupGone(other.npm.pid!)).toBe(true);
    expect(await portRefuses(other.port)).toBe(true);
  });
});
