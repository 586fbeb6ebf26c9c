/**
 * @backprop/nn: dense L-layer neural networks with the math of Andrew Ng's course, in plain
 * TypeScript with no dependencies and no I/O (runs in Node, a worker thread or a browser).
 * See README.md for the API, the layout conventions and the formats.
 */

export { TrainingAbortedError } from './aborted.ts';
export {
  ACTIVATIONS,
  type Activation,
  type ActivationName,
  DEFAULT_LEAKY_SLOPE,
  HIDDEN_ACTIVATIONS,
  type HiddenActivationName,
  OUTPUT_ACTIVATIONS,
  type OutputActivationName,
} from './activations.ts';
export type { Layer, LayerSpec } from './architecture.ts';
export { COSTS, type Cost, type CostName } from './costs.ts';
export { DivergenceError, NnInputError } from './errors.ts';
export {
  type GradientCheckOptions,
  type GradientCheckResult,
  gradientCheck,
  relativeDifference,
} from './gradcheck.ts';
export { INIT_NAMES, INITIALIZERS, type InitName } from './init.ts';
export {
  blockedKernels,
  defaultKernels,
  type Kernels,
  kernels,
  referenceKernels,
  setKernels,
  wasmKernels,
} from './kernels.ts';
export {
  copyMatrix,
  fromNested,
  fromRows,
  matrix,
  oneHot,
  selectColumns,
  toNested,
  toRows,
  transpose,
} from './layout.ts';
export { type DType, dtypeOf, type FloatArray, type Matrix, zeros } from './matrix.ts';
export {
  type AveragedScores,
  type BinaryMetrics,
  binaryMetrics,
  type ClassScores,
  LOG_LOSS_EPSILON,
  logLoss,
  type MulticlassMetrics,
  multiclassMetrics,
  type RegressionMetrics,
  type RocCurve,
  regressionMetrics,
  roc,
} from './metrics/index.ts';
export {
  type ExportNormalization,
  MODEL_EXPORT_FORMAT,
  MODEL_EXPORT_VERSION,
  type ModelExport,
  type ModelTask,
  readModelExport,
  writeModelExport,
} from './model-export.ts';
export {
  type CreateOptions,
  type FromParametersOptions,
  type GradientMatrices,
  type Gradients,
  Network,
  type NetworkParameters,
  type NetworkSpec,
  type ParameterMatrices,
  type ParametersInput,
  type RowPredictions,
} from './network.ts';
export {
  OPTIMIZER_DEFAULTS,
  OPTIMIZER_NAMES,
  type OptimizerHyperparameters,
  type OptimizerName,
  type OptimizerState,
} from './optimizers.ts';
export { type PlanOptions, planUpdates, type UpdatePlan } from './plan.ts';
export { accuracy, confusionMatrix, labelsFromTargets, predictLabels } from './predict.ts';
export { Rng, type RngState } from './rng.ts';
export {
  deserialize,
  deserializeCheckpoint,
  FORMAT,
  FORMAT_VERSION,
  serialize,
  serializeBinary,
  serializeCheckpoint,
} from './serialize.ts';
export { serveThread } from './thread-helper.ts';
export { type HelperThread, setThreadSpawner, type ThreadSpawner } from './threads.ts';
export {
  type EarlyStoppingState,
  type SampleSplit,
  type TrainIteration,
  type TrainingCheckpoint,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
} from './train.ts';
export type { MatrixInput } from './validate.ts';
