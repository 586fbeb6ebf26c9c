/**
 * CI's run of the benchmark: `bench/run.ts --smoke` runs every workload and every kernel
 * configuration once and checks the RESULTS (costs against the reference kernels and numpy, every
 * printed figure finite and positive), never the times. This spawns the real script.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { wasmKernels } from '../src/kernels.ts';

const script = fileURLToPath(new URL('../bench/run.ts', import.meta.url));
const numpyPresent = spawnSync('python3', ['-c', 'import numpy'], { timeout: 60_000 }).status === 0;

describe('npm run bench:smoke', () => {
  it('checks every workload and kernel/dtype configuration and finds the results right', async () => {
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--smoke'], {
        encoding: 'utf8',
        timeout: 280_000,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (e) {
      // A failed check exits non-zero: show what the script printed.
      const out = e instanceof Error && 'stdout' in e ? String(e.stdout) : '';
      throw new Error(`bench --smoke failed: ${e instanceof Error ? e.message : e}\n${out}`);
    }
    expect(stdout).toMatch(/^smoke: OK \(\d+ results checked; times are not checked\)$/m);
    expect(stdout).not.toContain('WRONG');
    const kernels = wasmKernels === null ? ['blocked', 'reference'] : ['wasm', 'blocked', 'reference'];
    for (const workload of ['W1 cat-Llayer', 'W2 cat-2layer', 'W3 planar', 'W4 wide']) {
      for (const k of kernels) {
        for (const dtype of ['f64', 'f32']) {
          const line = new RegExp(`^${workload} +${dtype} ${k} +\\d`, 'm');
          expect(stdout, `${workload} ${dtype} ${k} checked`).toMatch(line);
          expect(stdout, `${workload} ${dtype} ${k} step() timed`).toContain(`nn ${dtype} ${k} step()`);
        }
      }
      if (numpyPresent)
        expect(stdout, `${workload} numpy checked`).toMatch(new RegExp(`^${workload} +numpy f64 +\\d`, 'm'));
    }
    if (!numpyPresent) expect(stdout).toContain('notice: numpy not checked');
    // TensorFlow.js is an optional dev dependency: checked on W3 when it loads, a notice when not.
    expect(stdout).toMatch(/^(W3 planar +tfjs-wasm f32 +\d.* ok|notice: tfjs W3 column skipped: .+)$/m);
    expect(stdout).toContain('samples W1 m = 64, W2 m = 64, W3 m = 400, W4 m = 200');
  }, 300_000);
});
