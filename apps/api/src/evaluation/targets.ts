/**
 * What an evaluation compares the model's outputs with: the dataset's labels as the model's class
 * indices (classification) or its values (regression). A dataset the model cannot be scored on
 * is a 422 naming `datasetId`: other features, another kind of task, or a class the model does
 * not know (a class of the model absent from the dataset is fine: its recall is 0).
 */
import { ApiError, type ClassLabel, type Task } from '@backprop/contracts';

export interface ModelShape {
  inputSize: number;
  task: Task;
  classes: ClassLabel[] | null;
}

export interface DatasetShape {
  id: string;
  features: number;
  task: Task;
  classes: ClassLabel[] | null;
}

function incompatible(message: string): ApiError {
  return new ApiError('BP_ERR_INCOMPATIBLE', `datasetId: ${message}`, { field: 'datasetId' });
}

/** Throws unless the model can be evaluated on the dataset (shapes only, no values). */
export function checkEvaluable(model: ModelShape, dataset: DatasetShape): void {
  if (dataset.features !== model.inputSize) {
    throw incompatible(
      `dataset ${dataset.id} has ${dataset.features} features, but the model takes ${model.inputSize}`,
    );
  }
  const regression = (task: Task) => task === 'regression';
  if (regression(model.task) !== regression(dataset.task)) {
    throw incompatible(
      `the model is a ${model.task} model but dataset ${dataset.id} is ${dataset.task === 'regression' ? 'a regression (real-valued labels)' : `a ${dataset.task} classification`}; upload the dataset with ?task= to choose`,
    );
  }
  classIndices(model, dataset);
}

/**
 * For each of the dataset's classes, its index among the model's (classes are equal when their
 * values are: 1 and "1" differ). Empty for regression.
 */
export function classIndices(model: ModelShape, dataset: DatasetShape): number[] {
  if (model.task === 'regression') return [];
  const modelClasses = model.classes ?? [];
  return (dataset.classes ?? []).map((label) => {
    const index = modelClasses.indexOf(label);
    if (index === -1) {
      throw incompatible(
        `dataset ${dataset.id} has the label ${JSON.stringify(label)}, which is not one of the model's classes ${JSON.stringify(modelClasses)}`,
      );
    }
    return index;
  });
}

/** The dataset's y (class indices into its own classes, or values) as the evaluation's targets. */
export function targetsOf(model: ModelShape, dataset: DatasetShape, y: Float64Array): Float64Array {
  if (model.task === 'regression') return y;
  const indices = classIndices(model, dataset);
  return Float64Array.from(y, (c) => indices[c]!);
}
