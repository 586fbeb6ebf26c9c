/**
 * The onIteration hook: train asks its caller between every two updates, hands it the iteration,
 * the cost when one was recorded there and a checkpoint of the exact state, and stops when told.
 * A caller that checkpoints on its own schedule (the worker's clock) and resumes later gets the
 * run that never stopped, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import {
  deserializeCheckpoint,
  NnInputError,
  serializeCheckpoint,
  type TrainIteration,
  type TrainingCheckpoint,
  type TrainOptions,
  train,
} from '../src/index.ts';
import { expectTrainingAborted, loadPlanar } from './helpers.ts';
import { expectResumesTo, mixedNetwork, parameterBits, STOPS_EARLY } from './networks.ts';

const planar = loadPlanar();
const make = () => mixedNetwork({ init: 'he', seed: 1 });

/** The cases where a checkpoint's state is hardest to get right: shuffles, moments, early stopping. */
const cases: [string, TrainOptions][] = [
  ['full-batch gd', { learningRate: 0.3, iterations: 40, costEvery: 7 }],
  [
    'mini-batch adam',
    { learningRate: 0.01, epochs: 5, batchSize: 64, costEvery: 3, optimizer: 'adam', seed: 4 },
  ],
  [
    'mini-batch momentum with validation and early stopping',
    {
      learningRate: 0.05,
      epochs: 6,
      batchSize: 48,
      costEvery: 4,
      optimizer: 'momentum',
      validationSplit: 0.25,
      earlyStopping: { patience: 50 },
      seed: 9,
    },
  ],
  ['mini-batch adam stopped early (at 63 of 72)', STOPS_EARLY],
];

describe('onIteration', () => {
  it('is called once at every iteration from 0 to N, with the cost exactly where one is recorded', () => {
    const seen: { iteration: number; iterations: number; cost: number | undefined }[] = [];
    const result = train(make(), planar.X, planar.Y, {
      learningRate: 0.3,
      iterations: 25,
      costEvery: 10,
      onIteration: (s) => {
        seen.push({ iteration: s.iteration, iterations: s.iterations, cost: s.cost });
        return 'continue';
      },
    });
    expect(seen.map((s) => s.iteration)).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(seen.every((s) => s.iterations === 25)).toBe(true);
    const recorded = seen.filter((s) => s.cost !== undefined);
    expect(recorded.map((s) => s.iteration)).toEqual(result.costIterations);
    expect(recorded.map((s) => s.cost)).toEqual(result.costs);
  });

  it.each(cases)('does not change the run (%s)', (_, options) => {
    const plain = make();
    const r1 = train(plain, planar.X, planar.Y, options);
    const hooked = make();
    let calls = 0;
    const r2 = train(hooked, planar.X, planar.Y, {
      ...options,
      onIteration: (s) => {
        calls += 1;
        s.checkpoint(); // taking one changes nothing either
        return 'continue';
      },
    });
    expect(parameterBits(hooked)).toEqual(parameterBits(plain));
    expect(r2).toEqual(r1);
    expect(calls).toBe(r1.iterations + 1);
  });

  it("'stop' ends training before the next update with a checkpoint of that iteration", () => {
    const stopped = expectTrainingAborted(() =>
      train(make(), planar.X, planar.Y, {
        learningRate: 0.3,
        iterations: 40,
        costEvery: 5,
        onIteration: (s) => (s.iteration === 17 ? 'stop' : 'continue'),
      }),
    );
    expect(stopped.iteration).toBe(17);
    expect(stopped.checkpoint.startIteration).toBe(17);
    expect(stopped.costIterations).toEqual([0, 5, 10, 15]);
  });

  it("'stop' at the last iteration changes nothing: the run is over and train returns its result", () => {
    const result = train(make(), planar.X, planar.Y, {
      learningRate: 0.3,
      iterations: 10,
      onIteration: (s) => (s.iteration === s.iterations ? 'stop' : 'continue'),
    });
    expect(result.iterations).toBe(10);
  });

  it.each(cases)(
    'checkpoints taken mid-run at any iteration resume to the uninterrupted run, bit for bit (%s)',
    (_, options) => {
      const full = make();
      const r1 = train(full, planar.X, planar.Y, options);
      // Iterations that are not recorded costs, one at an epoch's start and one past it, and the last.
      const at = [1, 6, 9, 10, 11, Math.floor(r1.iterations / 2), r1.iterations - 1, r1.iterations];
      const checkpoints = new Map<number, Uint8Array>();
      train(make(), planar.X, planar.Y, {
        ...options,
        onIteration: (s) => {
          if (at.includes(s.iteration)) checkpoints.set(s.iteration, serializeCheckpoint(s.checkpoint()));
          return 'continue';
        },
      });
      expect([...checkpoints.keys()]).toEqual([...new Set(at)].sort((a, b) => a - b));
      for (const [iteration, bytes] of checkpoints) {
        const resumed = make();
        let calls = 0;
        const r2 = train(resumed, planar.X, planar.Y, {
          ...options,
          ...deserializeCheckpoint(bytes),
          onIteration: () => {
            calls += 1;
            return 'continue';
          },
        });
        expect(parameterBits(resumed), `resumed at ${iteration}`).toEqual(parameterBits(full));
        // The costs after the checkpoint (J_N is always recorded, so a resume at N records it again).
        expect(r2.costs).toEqual(
          iteration === r1.plannedIterations
            ? r1.costs.slice(-1)
            : r1.costs.filter((_, k) => r1.costIterations[k]! > iteration),
        );
        expect(r2.finalCost).toBe(r1.finalCost);
        expect([r2.iterations, r2.stoppedEarly, r2.bestIteration]).toEqual([
          r1.iterations,
          r1.stoppedEarly,
          r1.bestIteration,
        ]);
        // Once per iteration of the resumed part: start .. N.
        expect(calls).toBe(r1.iterations - iteration + 1);
      }
    },
  );

  it.each(cases)("a run stopped with 'stop' and resumed ends as the uninterrupted run (%s)", (_, options) => {
    const full = make();
    const r1 = train(full, planar.X, planar.Y, options);
    const stopped = expectTrainingAborted(() =>
      train(make(), planar.X, planar.Y, {
        ...options,
        onIteration: (s) => (s.iteration === 13 ? 'stop' : 'continue'),
      }),
    );
    const checkpoint: TrainingCheckpoint = stopped.checkpoint;
    expect(checkpoint.startIteration).toBe(13);
    const r2 = expectResumesTo(full, make(), planar, options, checkpoint);
    // The history up to the stop, then the resumed run's: the uninterrupted one.
    expect([...stopped.costs, ...r2.costs]).toEqual(r1.costs);
  });

  it('a checkpoint cannot be taken after the call returned', () => {
    let saved: TrainIteration | undefined;
    train(make(), planar.X, planar.Y, {
      learningRate: 0.3,
      iterations: 3,
      onIteration: (s) => {
        saved ??= s;
        return 'continue';
      },
    });
    expect(() => saved!.checkpoint()).toThrow(/only valid during the onIteration call/);
  });

  it('is an option train accepts, and must be a function', () => {
    expect(() =>
      train(make(), planar.X, planar.Y, {
        learningRate: 0.3,
        iterations: 3,
        // @ts-expect-error: not a function
        onIteration: 'stop',
      }),
    ).toThrow(NnInputError);
  });
});
