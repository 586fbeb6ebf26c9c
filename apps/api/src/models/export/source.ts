/** What every export format is built from: the network the predict path loads, and its origin. */
import type { ExportNormalization, ModelExport } from '@backprop/nn';
import { z } from 'zod';
import type { LoadedModel } from '../cache.ts';

export interface ExportSource {
  model: LoadedModel;
  modelId: string;
  jobId: string;
  datasetId: string;
  networkId: string;
  featureNames: string[];
  labelName: string;
  createdAt: Date;
}

/** A dataset's stored feature names (a JSON column). */
export const StoredFeatureNames = z.array(z.string());

/** The export's own description of the model, the same for every format. */
export function describeModel(source: ExportSource): ModelExport {
  const { model } = source;
  const normalization: ExportNormalization = model.normalization;
  return {
    network: model.network,
    task: model.task,
    classes: model.classes,
    featureNames: source.featureNames,
    labelName: source.labelName,
    normalization,
    about: {
      modelId: source.modelId,
      jobId: source.jobId,
      datasetId: source.datasetId,
      networkId: source.networkId,
      createdAt: source.createdAt.toISOString(),
    },
  };
}
