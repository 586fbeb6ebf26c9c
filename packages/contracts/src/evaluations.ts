/**
 * Evaluations: a model's metrics on a dataset, computed once and kept (POST
 * /v1/models/{id}/evaluations). The metrics are @backprop/nn's (src/metrics), with its
 * definitions: see each field's description.
 */
import { z } from 'zod';
import { Id, PageQuery, page, Timestamp } from './common.ts';
import { ClassLabel, Task } from './datasets.ts';

export const CreateEvaluation = z
  .strictObject({
    datasetId: Id.describe(
      "The dataset to evaluate on: the model's number of features; for classification, labels that are among the model's classes",
    ),
  })
  .meta({ id: 'CreateEvaluation' });
export type CreateEvaluation = z.infer<typeof CreateEvaluation>;

const Share = z.number().min(0).max(1);

const ConfusionMatrix = z
  .object({
    labels: z.array(ClassLabel).describe("The model's classes, in class order"),
    counts: z
      .array(z.array(z.number().int()))
      .describe('counts[a][p]: samples of actual class labels[a] predicted as labels[p]'),
  })
  .describe('Rows: the actual class; columns: the predicted one');

const UndefinedMetrics = z
  .record(z.string(), z.string())
  .describe('Why a metric is null, by its name (empty when every metric is defined)');

const ZERO_DIVISION =
  'A ratio whose denominator is 0 is 0 (sklearn zero_division=0): precision with no sample predicted in the class, recall with no sample of it';

const LOG_LOSS =
  "−mean log p(actual class), p clipped to [ε, 1−ε], ε = 2⁻⁵² (float64's machine epsilon, as sklearn)";

export const BinaryEvaluationMetrics = z.object({
  task: z.literal('binary'),
  positiveClass: ClassLabel.describe('The class whose precision, recall and F1 these are (class index 1)'),
  threshold: z
    .literal(0.5)
    .describe('A sample is predicted positive where P(positive) > 0.5, as predictions answer'),
  accuracy: Share,
  precision: Share.describe(ZERO_DIVISION),
  recall: Share.describe(ZERO_DIVISION),
  f1: Share.describe(`2·tp / (2·tp + fp + fn); ${ZERO_DIVISION}`),
  rocAuc: Share.nullable().describe(
    'Area under the ROC curve; tied scores count one half (trapezoids). null when the labels hold one class only',
  ),
  logLoss: z.number().min(0).describe(LOG_LOSS),
  confusionMatrix: ConfusionMatrix,
  rocCurve: z
    .object({
      fpr: z.array(Share),
      tpr: z.array(Share),
      thresholds: z
        .array(z.number().nullable())
        .describe('The score from which a sample is predicted positive; the first, null, stands for +∞'),
    })
    .nullable()
    .describe(
      'One point per distinct score, highest first, from (0, 0) to (1, 1); points on a straight line between their neighbours are left out, and at most EVALUATION_ROC_MAX_POINTS are kept (evenly spaced). null with one class only',
    ),
  undefinedMetrics: UndefinedMetrics,
});

const Scores = z.object({ precision: Share, recall: Share, f1: Share });

export const MulticlassEvaluationMetrics = z.object({
  task: z.literal('multiclass'),
  accuracy: Share,
  logLoss: z.number().min(0).describe(LOG_LOSS),
  perClass: z
    .array(Scores.extend({ label: ClassLabel, support: z.number().int().describe('Samples of the class') }))
    .describe(
      `Every class of the model, in class order (a class absent from the dataset too). ${ZERO_DIVISION}`,
    ),
  macro: Scores.describe('The plain mean over every class of the model'),
  weighted: Scores.describe('The mean weighted by support'),
  confusionMatrix: ConfusionMatrix,
});

export const RegressionEvaluationMetrics = z.object({
  task: z.literal('regression'),
  mse: z.number().min(0),
  rmse: z.number().min(0),
  mae: z.number().min(0),
  r2: z
    .number()
    .nullable()
    .describe('1 − Σ(ŷ−y)² / Σ(y−ȳ)²; null when every target is equal (the variance is 0)'),
  undefinedMetrics: UndefinedMetrics,
});

export const EvaluationMetrics = z
  .discriminatedUnion('task', [
    BinaryEvaluationMetrics,
    MulticlassEvaluationMetrics,
    RegressionEvaluationMetrics,
  ])
  .describe('The metrics of the model’s task: binary, multiclass or regression');
export type EvaluationMetrics = z.infer<typeof EvaluationMetrics>;

export const Evaluation = z
  .object({
    id: Id,
    modelId: Id,
    datasetId: Id.describe('The dataset evaluated on (it may have been deleted since)'),
    task: Task,
    samples: z.number().int().describe('Samples evaluated: every sample of the dataset'),
    metrics: EvaluationMetrics,
    createdAt: Timestamp,
  })
  .meta({ id: 'Evaluation' });
export type Evaluation = z.infer<typeof Evaluation>;

export const EvaluationPage = page(Evaluation);
export const ListEvaluationsQuery = PageQuery;
export const EvaluationParams = z.strictObject({ id: Id, evaluationId: Id });
