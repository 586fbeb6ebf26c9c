/** A model's receipt: everything that made it, for GET /v1/models/:id/receipt and reproduction. */
import { z } from 'zod';

export const Receipt = z
  .object({
    modelId: z.string(),
    job: z.object({
      id: z.string(),
      plan: z
        .record(z.string(), z.unknown())
        .describe('The resolved training plan: every option with its default, the seed'),
      createdAt: z.string(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      attempts: z.number().int(),
      costs: z.object({
        url: z.string().describe('GET it for the cost history'),
        recorded: z.number().int(),
        costEvery: z.number().int(),
        final: z.number().nullable(),
      }),
    }),
    dataset: z.object({
      id: z.string(),
      name: z.string(),
      samples: z.number().int(),
      features: z.number().int(),
      contentHash: z
        .string()
        .nullable()
        .describe(
          'hex sha256 of the stored values (computed when first asked for, then kept); null if they were deleted before',
        ),
    }),
    network: z.object({
      id: z.string(),
      inputSize: z.number().int(),
      layers: z.unknown(),
      init: z.string(),
      parameterCount: z.number().int(),
    }),
    dtype: z.string(),
    threads: z.number().int(),
    packages: z.record(z.string(), z.string()),
  })
  .meta({ id: 'Receipt' });
