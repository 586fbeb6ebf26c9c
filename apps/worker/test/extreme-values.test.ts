/**
 * The training thread on columns of extreme values (issue 7): started the way the worker starts
 * it (its bundled entry), so the normalisation it computes is the one a model predicts with.
 * Constant columns and values near ±Number.MAX_VALUE train to a finite cost, never NaN.
 */
import { normalizeFeature } from '@backprop/contracts';
import { describe, expect, it } from 'vitest';
import type { ThreadMessage, TrainRequest } from '../src/protocol.ts';
import { threadEntries } from '../src/thread-entries.ts';
import { startTrainingThread } from '../src/thread-runner.ts';

describe('training on columns of extreme values (the real training thread)', () => {
  /** Trains a 2 → 1 sigmoid network in a real training thread; resolves with its last message. */
  async function trainInThread(rows: number[][], labels: number[], normalize: 'standard' | 'minmax') {
    const features = rows[0]!.length;
    const request: TrainRequest = {
      x: Float64Array.from(rows.flat()),
      y: Float64Array.from(labels),
      samples: rows.length,
      features,
      task: 'binary',
      network: { inputSize: features, layers: [{ units: 1, activation: 'sigmoid' }], init: 'xavier' },
      training: {
        learningRate: 0.5,
        iterations: 20,
        optimizer: 'gd',
        l2: 0,
        validationSplit: 0,
        normalize,
        seed: 1,
        costEvery: 10,
      },
      resume: null,
      progressEveryMs: 60_000,
      control: new SharedArrayBuffer(4),
      checkpointEveryMs: 600_000,
      nice: 0,
    };
    const messages: ThreadMessage[] = [];
    const handle = startTrainingThread(await threadEntries(), request, (m) => messages.push(m), 256);
    const outcome = await handle.done;
    return { outcome, last: messages.at(-1) };
  }

  // Constant columns beside an informative one. Before: min-max divided 0 by 0 for 1e300 (its
  // max − min vanished in rounding: 1e300 + 1 = 1e300) and the job failed with "X[0][0] is NaN";
  // standard divided 0.1's rounding noise (std 1e-17) and turned the constant into ±1.
  const rows = [0, 1, 2, 3, 4, 5].map((v) => [1e300, 0.1, v]);
  for (const normalize of ['minmax', 'standard'] as const) {
    it(`${normalize}: constant columns (1e300, 0.1) train, each only shifted to 0`, async () => {
      const { outcome, last } = await trainInThread(rows, [0, 0, 0, 1, 1, 1], normalize);
      expect(outcome.kind).toBe('finished');
      expect(last?.type, JSON.stringify(last)).toBe('done');
      if (last?.type !== 'done') return;
      expect(Number.isFinite(last.cost)).toBe(true);
      expect(normalizeFeature(last.normalization, 0, 1e300)).toBe(0);
      expect(normalizeFeature(last.normalization, 1, 0.1)).toBe(0);
    });
  }

  it('±1.7e308 in a column trains with min-max and standard', async () => {
    const extreme = [
      [-1.7e308, 0],
      [1.7e308, 1],
      [0, 2],
      [1e308, 3],
    ];
    for (const normalize of ['minmax', 'standard'] as const) {
      const { last } = await trainInThread(extreme, [0, 1, 0, 1], normalize);
      expect(last?.type, `${normalize}: ${JSON.stringify(last)}`).toBe('done');
    }
  });
});
