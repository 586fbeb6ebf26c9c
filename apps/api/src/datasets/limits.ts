/** The size limits every dataset upload form (CSV, JSON, IDX) checks. */
import { limitExceeded } from '@backprop/contracts';

export interface DatasetLimits {
  LIMIT_DATASET_ROWS: number;
  LIMIT_DATASET_COLUMNS: number;
  LIMIT_DATASET_VALUES: number;
}

/** How an upload form names its samples, features and values in a refusal. */
export interface DatasetShapeWords {
  samples: string;
  features: string;
  values: string;
}

/** Refuses a dataset of samples × features beyond the limits, checking rows, then columns, then values. */
export function checkDatasetShape(
  samples: number,
  features: number,
  limits: DatasetLimits,
  words: DatasetShapeWords,
): void {
  if (samples > limits.LIMIT_DATASET_ROWS) {
    throw limitExceeded('LIMIT_DATASET_ROWS', samples, limits.LIMIT_DATASET_ROWS, words.samples);
  }
  if (features > limits.LIMIT_DATASET_COLUMNS) {
    throw limitExceeded('LIMIT_DATASET_COLUMNS', features, limits.LIMIT_DATASET_COLUMNS, words.features);
  }
  if (samples * features > limits.LIMIT_DATASET_VALUES) {
    throw limitExceeded(
      'LIMIT_DATASET_VALUES',
      samples * features,
      limits.LIMIT_DATASET_VALUES,
      words.values,
    );
  }
}
