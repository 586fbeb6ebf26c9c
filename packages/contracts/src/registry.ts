/** Model export, the model registry (names, tags, versions, aliases), receipts and dry runs. */
import { z } from 'zod';
import { Id, PageQuery, page, Timestamp } from './common.ts';
import { Model } from './models.ts';

export const EXPORT_FORMATS = ['json', 'js', 'onnx'] as const;
export const ExportFormat = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const ExportQuery = z.strictObject({
  format: ExportFormat.describe(
    'json: versioned backprop-model JSON (@backprop/nn readModelExport); js: a dependency-free ES module exporting predict(samples); onnx: an ONNX model (opset 13)',
  ),
});

/**
 * A registry name or alias: it sits in URLs (`/v1/registry/{name}/aliases/{alias}`), so letters,
 * digits, `.`, `_` and `-`, starting with a letter or digit.
 */
export const RegistryName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    'must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .describe('A registry name, e.g. cat-classifier');
export const AliasName = RegistryName.describe('An alias under a registry name, e.g. production');
export const Tag = z
  .string()
  .regex(/^[^\0\p{Cs}\p{Cc}]{1,64}$/u, 'must be 1-64 characters, none of them control characters')
  .describe('A free-form label on a model');

export const ListModelsQuery = PageQuery.extend({
  jobId: Id.optional().describe('Only the model of this job'),
  datasetId: Id.optional().describe('Only models trained on this dataset'),
  name: RegistryName.optional().describe('Only versions under this registry name'),
  tag: Tag.optional().describe('Only models carrying this tag'),
});

export const UpdateModelRequest = z
  .strictObject({
    name: RegistryName.nullable()
      .optional()
      .describe(
        'Register the model under this name: it becomes its next version (1, 2, ... per name, never reused). null unregisters it. A model an alias points to keeps its name (409).',
      ),
    tags: z
      .array(Tag)
      .optional()
      .describe('Replaces the tags (duplicates are dropped); at most LIMIT_MODEL_TAGS'),
  })
  .refine((r) => r.name !== undefined || r.tags !== undefined, { message: 'give name, tags or both' })
  .meta({ id: 'UpdateModelRequest' });

export const RegistryParams = z.strictObject({ name: RegistryName });
export const AliasParams = z.strictObject({ name: RegistryName, alias: AliasName });

export const SetAliasRequest = z
  .strictObject({
    version: z.number().int().min(1).describe('The version under the name the alias points to'),
  })
  .meta({ id: 'SetAliasRequest' });

export const Alias = z
  .object({
    name: RegistryName,
    alias: AliasName,
    version: z.number().int(),
    modelId: Id,
    previousModelId: Id.nullable().describe('The model the alias pointed to before this change, if any'),
  })
  .meta({ id: 'Alias' });

export const RegisteredModel = z
  .object({
    name: RegistryName,
    createdAt: Timestamp,
    versions: z
      .array(z.object({ version: z.number().int(), modelId: Id, createdAt: Timestamp, tags: z.array(Tag) }))
      .describe('Newest first; a deleted model leaves a gap (numbers are never reused)'),
    aliases: z.record(z.string(), z.number().int()).describe('alias → version'),
  })
  .meta({ id: 'RegisteredModel' });

export const ModelPage = page(Model);

export const DryRun = z
  .object({
    valid: z.literal(true).describe('Every check POST /v1/jobs makes before queueing passed'),
    training: z
      .record(z.string(), z.unknown())
      .describe('The options the job would train with, defaults resolved'),
    parameterCount: z.number().int(),
    trainSamples: z.number().int(),
    batchSize: z.number().int(),
    updates: z.number().int(),
    flops: z.number().describe('About 6 · parameters · batch size · updates'),
    memoryBytes: z.object({
      parameters: z.number(),
      gradients: z.number(),
      optimizer: z.number(),
      activations: z.number(),
      data: z.number(),
      total: z.number(),
    }),
    estimatedSeconds: z.number(),
    calibration: z.object({
      secondsPerFlop: z.number(),
      source: z
        .enum(['measured', 'default'])
        .describe('measured: the median of recent succeeded jobs; default: DRY_RUN_DEFAULT_SECONDS_PER_FLOP'),
      jobs: z.number().int().describe('Finished jobs the measurement comes from'),
    }),
    warnings: z.array(
      z.object({
        code: z.enum(['feature_scales', 'learning_rate', 'class_imbalance', 'more_parameters_than_samples']),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'DryRun' });
