/**
 * A trained model as a service exports it: the network in `serialize`'s JSON form, with what a
 * prediction needs around it (the task, the class names, the feature names and the
 * normalisation applied to raw samples before the forward pass). Versioned, readable text:
 *
 *   { "format": "backprop-model", "version": 1,
 *     "task": "binary" | "multiclass" | "regression", "classes": [...] | null,
 *     "featureNames": ["x1", ...], "labelName": "label",
 *     "normalization": { "kind": "standard", "mean": [...], "std": [...] }
 *                    | { "kind": "minmax", "min": [...], "max": [...] } | { "kind": "none" },
 *     "about": { ... },  (free-form: where the model comes from)
 *     "network": { "format": "backprop-nn", "version": 1, "dtype", "inputSize", "layers",
 *                  "parameters": { "W1": (n[1], n[0]) rows, "b1": (n[1], 1) rows, ... } } }
 *
 * The network's numbers are written by `serialize` (shortest round-trip form, −0 kept), so
 * `readModelExport(writeModelExport(m)).network` has bit-identical parameters.
 */
import { NnInputError } from './errors.ts';
import type { Network } from './network.ts';
import { networkFromDocument, serialize } from './serialize.ts';

export const MODEL_EXPORT_FORMAT = 'backprop-model';
export const MODEL_EXPORT_VERSION = 1;

export type ModelTask = 'binary' | 'multiclass' | 'regression';

/** Applied to raw sample values before the forward pass: (x − mean)/std or (x − min)/(max − min). */
export type ExportNormalization =
  | { readonly kind: 'none' }
  | { readonly kind: 'standard'; readonly mean: readonly number[]; readonly std: readonly number[] }
  | { readonly kind: 'minmax'; readonly min: readonly number[]; readonly max: readonly number[] };

export interface ModelExport {
  readonly network: Network;
  readonly task: ModelTask;
  /** The label of each class in output order (classification); null for regression. */
  readonly classes: readonly (string | number)[] | null;
  readonly featureNames: readonly string[];
  readonly labelName: string;
  readonly normalization: ExportNormalization;
  /** Free-form provenance (model id, job id, creation time, ...). */
  readonly about: Readonly<Record<string, unknown>>;
}

function bad(why: string): never {
  throw new NnInputError(`readModelExport: ${why}`);
}

/** The model as versioned JSON text (see the file header). */
export function writeModelExport(model: ModelExport): string {
  const head = JSON.stringify({
    format: MODEL_EXPORT_FORMAT,
    version: MODEL_EXPORT_VERSION,
    task: model.task,
    classes: model.classes,
    featureNames: model.featureNames,
    labelName: model.labelName,
    normalization: model.normalization,
    about: model.about,
  });
  return `${head.slice(0, -1)},"network":${serialize(model.network)}}`;
}

const isNumbers = (v: unknown, n: number): v is number[] =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number');

function readNormalization(v: unknown, n: number): ExportNormalization {
  if (typeof v !== 'object' || v === null) bad('normalization must be an object');
  const o = v as Record<string, unknown>;
  if (o['kind'] === 'none') return { kind: 'none' };
  if (o['kind'] === 'standard' && isNumbers(o['mean'], n) && isNumbers(o['std'], n))
    return { kind: 'standard', mean: o['mean'], std: o['std'] };
  if (o['kind'] === 'minmax' && isNumbers(o['min'], n) && isNumbers(o['max'], n))
    return { kind: 'minmax', min: o['min'], max: o['max'] };
  return bad(`normalization must be none, standard { mean, std } or minmax { min, max } of ${n} numbers`);
}

/** A model from `writeModelExport`'s text (a service's JSON export). */
export function readModelExport(text: string): ModelExport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null) bad('expected a JSON object');
  const d = doc as Record<string, unknown>;
  if (d['format'] !== MODEL_EXPORT_FORMAT)
    bad(`format is ${JSON.stringify(d['format'])}, expected "${MODEL_EXPORT_FORMAT}"`);
  if (d['version'] !== MODEL_EXPORT_VERSION)
    bad(`version ${String(d['version'])} is not supported (this library reads ${MODEL_EXPORT_VERSION})`);
  const network = networkFromDocument(d['network'], 'readModelExport: network');
  const { task, classes, featureNames, labelName, about } = d;
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression')
    bad(`task is ${JSON.stringify(task)}, expected binary, multiclass or regression`);
  if (
    classes !== null &&
    !(Array.isArray(classes) && classes.every((c) => typeof c === 'string' || typeof c === 'number'))
  )
    bad('classes must be null or an array of strings and numbers');
  if (
    !Array.isArray(featureNames) ||
    featureNames.length !== network.inputSize ||
    !featureNames.every((f) => typeof f === 'string')
  )
    bad(`featureNames must be ${network.inputSize} strings, one per input`);
  if (typeof labelName !== 'string') bad('labelName must be a string');
  return {
    network,
    task,
    classes,
    featureNames,
    labelName,
    normalization: readNormalization(d['normalization'], network.inputSize),
    about: typeof about === 'object' && about !== null ? (about as Record<string, unknown>) : {},
  };
}
