import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockColumnStatistics, columnStatistics, type SampleBlock } from '../src/index.ts';

/** x cut into blocks of whole samples at the given sample boundaries. */
function blocksOf(x: Float64Array, features: number, cuts: number[]): () => AsyncIterable<SampleBlock> {
  const samples = x.length / features;
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < samples).sort((a, b) => a - b), samples];
  return async function* () {
    for (let k = 0; k + 1 < bounds.length; k++) {
      const [from, to] = [bounds[k]!, bounds[k + 1]!];
      if (to > from) yield { values: x.subarray(from * features, to * features), samples: to - from };
    }
  };
}

describe('blockColumnStatistics', () => {
  it('gives the same bits as columnStatistics of the whole matrix, wherever the blocks are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 4, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 5 }),
        async (features, values, cuts) => {
          const samples = Math.floor(values.length / features);
          const x = Float64Array.from(values.slice(0, samples * features));
          const whole = columnStatistics(x, samples, features);
          const blocked = await blockColumnStatistics(blocksOf(x, features, cuts), features);
          expect(blocked).toEqual(whole);
          for (const [j, s] of blocked.entries()) {
            expect(Object.is(s.mean, whole[j]!.mean) && Object.is(s.std, whole[j]!.std)).toBe(true);
          }
        },
      ),
    );
  });
});
