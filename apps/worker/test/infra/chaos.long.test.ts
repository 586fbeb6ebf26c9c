/**
 * Scenario 25 (RELIABILITY.md) in CI: the chaos script (`npm run chaos`) with a few rounds and a
 * fixed seed, run as the README says, exactly as an operator would run it. It starts its own
 * private Postgres and Redis and exits non-zero on any invariant violation.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

describe('chaos', () => {
  it('25: three seeded rounds of kill -9 on {API, worker, Redis, Postgres}: every invariant holds', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/chaos.ts', '--rounds', '3', '--seed', '25', '--jobs', '10'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    // Bounded: the script has its own deadlines; this one only guards against a hang.
    const timer = setTimeout(() => child.kill('SIGINT'), 420_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    const summaryLine = out.split('\n').find((l) => l.includes('"event":"summary"'));
    console.log(`[25] ${summaryLine ?? out.slice(-3000)}`);
    expect(summaryLine, out.slice(-3000)).toBeDefined();
    const summary = JSON.parse(summaryLine!) as { violations: string[]; accepted: number };
    expect(summary.violations).toEqual([]);
    expect(summary.accepted).toBe(10);
    expect(code).toBe(0);
  });
});
