/**
 * A model's metrics on a dataset: normalise the raw samples as training did, one forward pass,
 * then @backprop/nn's metrics (src/metrics), shaped as the contracts' EvaluationMetrics. Pure and
 * synchronous: run.ts calls it on the main thread for small inputs and in a worker thread
 * (evaluation-thread.ts) for big ones.
 */
import {
  ApiError,
  type ClassLabel,
  type EvaluationMetrics,
  type Normalization,
  normalizeFeature,
  type Task,
} from '@backprop/contracts';
import { binaryMetrics, deserialize, type Matrix, multiclassMetrics, regressionMetrics } from '@backprop/nn';

export interface EvaluationInput {
  /** The model's network in nn's binary format (serializeBinary). */
  network: Uint8Array;
  normalization: Normalization;
  task: Task;
  /** The model's classes (null for regression). */
  classes: ClassLabel[] | null;
  /** samples × features raw values, row per sample. */
  x: Float64Array;
  samples: number;
  features: number;
  /** Per sample: the index of its class among the model's classes, or the target value. */
  targets: Float64Array;
  /** EVALUATION_ROC_MAX_POINTS. */
  maxRocPoints: number;
}

/** X: (n, m), one normalised column per sample; a value normalised beyond the doubles is a 422. */
function inputMatrix(input: EvaluationInput): Matrix {
  const { x, samples: m, features: n, normalization } = input;
  const X = new Float64Array(n * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = normalizeFeature(normalization, j, x[i * n + j]!);
      if (!Number.isFinite(v)) {
        throw new ApiError(
          'BP_ERR_BAD_DATA',
          `datasetId: sample ${i}, feature ${j}: ${x[i * n + j]} normalised with the model's statistics is beyond the largest number`,
          { field: 'datasetId' },
        );
      }
      X[j * m + i] = v;
    }
  }
  return { rows: n, cols: m, data: X };
}

/** Infinity (the ROC curve's first threshold) is not JSON: null stands for it. */
const jsonThreshold = (t: number) => (Number.isFinite(t) ? t : null);

export function evaluateModel(input: EvaluationInput): EvaluationMetrics {
  const net = deserialize(input.network);
  // A Matrix in gives a Matrix out: AL is (n[L], m).
  const AL = net.forward(inputMatrix(input));
  const bad = AL.data.findIndex((v) => !Number.isFinite(v));
  if (bad !== -1) {
    throw new ApiError(
      'BP_ERR_BAD_DATA',
      `datasetId: the model's output for sample ${bad % AL.cols} is not a finite number (its values are too large for the model)`,
      { field: 'datasetId' },
    );
  }
  const { targets } = input;
  const classes = input.classes ?? [];
  if (input.task === 'regression') {
    return { task: 'regression', ...regressionMetrics(AL.data, targets) };
  }
  const confusion = (counts: number[][]) => ({ labels: classes, counts });
  if (input.task === 'binary') {
    const m = binaryMetrics(AL, targets, input.maxRocPoints);
    return {
      task: 'binary',
      positiveClass: classes[1] ?? 1,
      threshold: 0.5,
      accuracy: m.accuracy,
      precision: m.precision,
      recall: m.recall,
      f1: m.f1,
      rocAuc: m.rocAuc,
      logLoss: m.logLoss,
      confusionMatrix: confusion(m.confusionMatrix),
      rocCurve:
        m.rocCurve === null
          ? null
          : {
              fpr: m.rocCurve.fpr,
              tpr: m.rocCurve.tpr,
              thresholds: m.rocCurve.thresholds.map(jsonThreshold),
            },
      undefinedMetrics: { ...m.undefinedMetrics },
    };
  }
  const m = multiclassMetrics(AL, targets);
  return {
    task: 'multiclass',
    accuracy: m.accuracy,
    logLoss: m.logLoss,
    perClass: m.perClass.map((s, c) => ({ label: classes[c] ?? c, ...s })),
    macro: { ...m.macro },
    weighted: { ...m.weighted },
    confusionMatrix: confusion(m.confusionMatrix),
  };
}
