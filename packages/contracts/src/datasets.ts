/** Datasets: numeric samples with one label each, uploaded as CSV or JSON. */
import { z } from 'zod';
import {
  ABORT,
  deletedAt,
  FiniteNumber,
  Id,
  Name,
  PageQuery,
  page,
  StoredText,
  Timestamp,
} from './common.ts';

export const Task = z
  .enum(['binary', 'multiclass', 'regression'])
  .describe('binary: two classes; multiclass: more than two; regression: real-valued labels');
export type Task = z.infer<typeof Task>;

/** A class as the client named it: a string, or a number when every label was numeric. */
export const ClassLabel = z.union([z.string(), z.number()]);
export type ClassLabel = z.infer<typeof ClassLabel>;

export const CreateDatasetJson = z
  .strictObject({
    name: Name.optional(),
    features: z
      .array(z.array(FiniteNumber).min(1, ABORT))
      .min(1)
      .describe('One row per sample, every row the same length'),
    labels: z
      .array(z.union([FiniteNumber, StoredText.min(1, ABORT).max(200, ABORT)]))
      .min(1)
      .describe('One label per sample: 0/1, class names or numbers, or real values'),
    featureNames: z.array(StoredText.min(1, ABORT).max(200, ABORT)).optional(),
    task: Task.optional().describe('Overrides the inferred task'),
  })
  .meta({ id: 'CreateDatasetJson' });
export type CreateDatasetJson = z.infer<typeof CreateDatasetJson>;

export const CreateDatasetQuery = z.strictObject({
  name: Name.optional(),
  label: StoredText.min(1).max(200).default('label').describe('CSV column holding the label'),
  task: Task.optional(),
});

export const ListDatasetsQuery = PageQuery;

export const FeatureStat = z.object({
  name: z.string(),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
});
export type FeatureStat = z.infer<typeof FeatureStat>;

export const Dataset = z
  .object({
    id: Id,
    name: z.string(),
    samples: z.number().int(),
    features: z.number().int(),
    task: Task,
    labelName: z.string(),
    classes: z.array(ClassLabel).optional().describe('Class names in label-index order (classification)'),
    featureStats: z.array(FeatureStat),
    byteSize: z.number().int().describe('Bytes of values stored now (0 once deleted)'),
    createdAt: Timestamp,
    deletedAt: deletedAt('the values are gone, the rest stays because finished jobs refer to it'),
  })
  .meta({ id: 'Dataset' });
export type Dataset = z.infer<typeof Dataset>;

export const DatasetPage = page(Dataset);
