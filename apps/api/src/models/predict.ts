/** Predictions for samples in raw units: normalise as in training, forward, name the labels. */
import {
  ApiError,
  limitExceeded,
  type Normalization,
  normalizeFeature,
  type Prediction,
} from '@backprop/contracts';
import { checkActivations } from '../jobs/plan.ts';
import type { LoadedModel } from './cache.ts';

/** The limits of a prediction request. */
export interface PredictLimits {
  LIMIT_PREDICT_SAMPLES: number;
  LIMIT_ACTIVATION_VALUES: number;
}

/** Refuses more samples than LIMIT_PREDICT_SAMPLES: checked before the model is even loaded. */
export function checkPredictSamples(samples: number, limits: PredictLimits): void {
  if (samples > limits.LIMIT_PREDICT_SAMPLES) {
    throw limitExceeded(
      'LIMIT_PREDICT_SAMPLES',
      samples,
      limits.LIMIT_PREDICT_SAMPLES,
      'the number of samples',
    );
  }
}

/** predict, once the model's forward pass over the samples is known to fit LIMIT_ACTIVATION_VALUES. */
export function predictWithinLimits(
  model: LoadedModel,
  samples: readonly number[][],
  limits: PredictLimits,
): Prediction[] {
  checkActivations(samples.length, model.network.layers, limits.LIMIT_ACTIVATION_VALUES);
  return predict(model, samples);
}

/** Samples in raw units, normalised as the model was trained. */
export function normalizeRows(samples: readonly number[][], normalization: Normalization): Float64Array[] {
  return samples.map((row) => Float64Array.from(row, (x, j) => normalizeFeature(normalization, j, x)));
}

export function predict(model: LoadedModel, samples: readonly number[][]): Prediction[] {
  const inputSize = model.network.sizes[0]!;
  samples.forEach((row, i) => {
    if (row.length !== inputSize) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `samples.${i}: ${row.length} features, but the model takes ${inputSize}`,
        { field: `samples.${i}` },
      );
    }
  });
  const rows = normalizeRows(samples, model.normalization);
  // A finite raw value can still normalise beyond the largest double (x / a tiny std).
  rows.forEach((row, i) => {
    const j = row.findIndex((v) => !Number.isFinite(v));
    if (j !== -1) {
      throw new ApiError(
        'BP_ERR_BAD_DATA',
        `samples.${i}.${j}: ${samples[i]![j]} normalised with the model's statistics is beyond the largest number`,
        { field: `samples.${i}.${j}` },
      );
    }
  });
  const { outputs, labels } = model.network.predictRows(rows);
  // Finite inputs can still overflow (1e308 · w): say which sample, rather than fail the response.
  const overflow = outputs.findIndex((o) => !o.every(Number.isFinite));
  if (overflow !== -1) {
    throw new ApiError(
      'BP_ERR_BAD_DATA',
      `samples.${overflow}: the model's output for this sample is not a finite number (its values are too large for the model)`,
      { field: `samples.${overflow}` },
    );
  }
  if (model.task === 'regression' || labels === null) return outputs.map((o) => ({ value: o[0]! }));
  const classes = model.classes ?? [];
  return outputs.map((o, i) => ({
    label: classes[labels[i]!] ?? labels[i]!,
    // A sigmoid output is P(class 1); say both probabilities, in class order, like softmax does.
    probabilities: o.length === 1 ? [1 - o[0]!, o[0]!] : o,
  }));
}
