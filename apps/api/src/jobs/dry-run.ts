/**
 * What a job will cost before it is paid for: parameters, memory, an estimated duration from
 * this service's measured speed, and the warnings a careful practitioner would give.
 *
 * Work: one update of a dense network on b samples costs about 6·P·b floating-point operations
 * (2·P·b forward, 4·P·b backward: dZ, dW and dA_prev), P the parameter count, so a run costs
 * F = 6·P·b·N for N updates. Seconds per operation are measured from recent succeeded jobs
 * (their claim-to-completion time over their F: queue, thread start and storage included), the
 * median of them, or DRY_RUN_DEFAULT_SECONDS_PER_FLOP before any job has finished.
 */
import type { OPTIMIZER_NAMES } from '@backprop/nn';
import { z } from 'zod';

export const FLOPS_PER_PARAMETER_SAMPLE = 6;

/** The numbers of the run a plan stores (PlannedTraining.run). */
const StoredRun = z.object({ batchSize: z.number(), updates: z.number() });
const StoredPlan = z.object({ run: StoredRun.optional() });

export function flopsOf(parameterCount: number, batchSize: number, updates: number): number {
  return FLOPS_PER_PARAMETER_SAMPLE * parameterCount * batchSize * updates;
}

export interface Calibration {
  secondsPerFlop: number;
  source: 'measured' | 'default';
  jobs: number;
}

/** The median seconds per operation of finished jobs, or the default when none can be used. */
export function calibrate(
  finished: readonly { seconds: number; training: unknown; parameterCount: number }[],
  defaultSecondsPerFlop: number,
): Calibration {
  const rates: number[] = [];
  for (const job of finished) {
    const plan = StoredPlan.safeParse(job.training);
    const run = plan.success ? plan.data.run : undefined;
    if (!run) continue;
    const flops = flopsOf(job.parameterCount, run.batchSize, run.updates);
    if (flops > 0 && job.seconds > 0) rates.push(job.seconds / flops);
  }
  if (rates.length === 0) return { secondsPerFlop: defaultSecondsPerFlop, source: 'default', jobs: 0 };
  rates.sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  return { secondsPerFlop: median, source: 'measured', jobs: rates.length };
}

const MOMENTS: Record<(typeof OPTIMIZER_NAMES)[number], number> = { gd: 0, momentum: 1, adam: 2 };

export interface MemoryEstimate {
  parameters: number;
  gradients: number;
  optimizer: number;
  activations: number;
  data: number;
  total: number;
}

/**
 * Bytes the training thread holds: parameters and their gradients, the optimiser's moments
 * (momentum 1, Adam 2 per parameter), Z, A and dZ of every layer for a batch, and the normalised
 * samples with their targets.
 */
export function memoryOf(options: {
  parameterCount: number;
  optimizer: (typeof OPTIMIZER_NAMES)[number];
  batchSize: number;
  units: readonly number[];
  samples: number;
  inputSize: number;
  outputSize: number;
  bytesPerValue: number;
}): MemoryEstimate {
  const w = options.bytesPerValue;
  const parameters = w * options.parameterCount;
  const gradients = parameters;
  const optimizer = MOMENTS[options.optimizer] * parameters;
  const activations = w * 3 * options.batchSize * options.units.reduce((n, u) => n + u, 0);
  const data = w * options.samples * (options.inputSize + options.outputSize);
  return {
    parameters,
    gradients,
    optimizer,
    activations,
    data,
    total: parameters + gradients + optimizer + activations + data,
  };
}

export interface Warning {
  code: 'feature_scales' | 'learning_rate' | 'class_imbalance' | 'more_parameters_than_samples';
  message: string;
}

/** Features whose spreads differ by more than this factor train badly without normalisation. */
export const SCALE_RATIO = 100;
/** A class with fewer than this share of the samples is called rare. */
export const RARE_CLASS_SHARE = 0.1;

/**
 * Learning rates above which training these activations with this optimiser usually diverges or
 * saturates (rules of thumb for standardised inputs; no guarantee either way): Adam's steps are
 * about the learning rate itself, so above 0.1 they jump over minima; with plain or momentum
 * gradient descent, relu layers (unbounded) blow up above 1, and a linear output (squared error
 * on raw targets) above 0.1; bounded sigmoid and tanh layers tolerate up to about 10.
 */
export function divergentLearningRate(
  optimizer: (typeof OPTIMIZER_NAMES)[number],
  activations: readonly string[],
): number {
  if (optimizer === 'adam') return 0.1;
  if (activations.at(-1) === 'linear') return 0.1;
  if (activations.some((a) => a === 'relu' || a === 'leaky_relu')) return 1;
  return 10;
}

export function warningsFor(input: {
  normalize: string;
  featureStats: readonly { name: string; std: number }[];
  learningRate: number;
  optimizer: (typeof OPTIMIZER_NAMES)[number];
  activations: readonly string[];
  classCounts: readonly { label: string; count: number }[] | null;
  parameterCount: number;
  trainSamples: number;
}): Warning[] {
  const warnings: Warning[] = [];
  if (input.normalize === 'none') {
    const spread = input.featureStats.filter((f) => f.std > 0);
    if (spread.length >= 2) {
      const widest = spread.reduce((a, b) => (b.std > a.std ? b : a));
      const narrowest = spread.reduce((a, b) => (b.std < a.std ? b : a));
      if (widest.std / narrowest.std > SCALE_RATIO) {
        warnings.push({
          code: 'feature_scales',
          message: `features are on very different scales (std of ${widest.name} ${widest.std.toPrecision(3)}, of ${narrowest.name} ${narrowest.std.toPrecision(3)}) and normalize is none: use normalize standard or minmax`,
        });
      }
    }
  }
  const limit = divergentLearningRate(input.optimizer, input.activations);
  if (input.learningRate > limit) {
    warnings.push({
      code: 'learning_rate',
      message: `learningRate ${input.learningRate} is above ${limit}, where ${input.optimizer} with ${[...new Set(input.activations)].join('/')} usually diverges`,
    });
  }
  if (input.classCounts && input.classCounts.length >= 2) {
    const total = input.classCounts.reduce((n, c) => n + c.count, 0);
    const rare = input.classCounts.filter((c) => c.count / total < RARE_CLASS_SHARE);
    if (rare.length > 0) {
      warnings.push({
        code: 'class_imbalance',
        message: `class imbalance: ${rare.map((c) => `${c.label} has ${c.count} of ${total} samples`).join(', ')} (under ${RARE_CLASS_SHARE * 100}%); accuracy can look good while that class is never predicted`,
      });
    }
  }
  if (input.parameterCount > input.trainSamples) {
    warnings.push({
      code: 'more_parameters_than_samples',
      message: `the network has ${input.parameterCount} parameters for ${input.trainSamples} training samples: it can memorise them; use fewer units, l2 or more data`,
    });
  }
  return warnings;
}
