/**
 * POST /v1/jobs/dry-run: the checks of POST /v1/jobs without storing or queueing anything, and
 * what the job would take (parameters, memory, an estimated duration) with warnings.
 */
import { ApiError, CreateJob, DryRun, ErrorBody } from '@backprop/contracts';
import { bytesToFloat64, getDatasetLabels, recentFinishedJobs } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { calibrate, flopsOf, memoryOf, warningsFor } from '../jobs/dry-run.ts';
import { planTraining } from '../jobs/plan.ts';
import { getJobReferences } from '../jobs/references.ts';
import { StoredFeatureStats, StoredLayers, StoredTraining, storedClasses } from '../stored.ts';
import { NoQuery } from './strict.ts';

export async function dryRunRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;

  r.post(
    '/jobs/dry-run',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'dryRunJob',
        summary: 'Check a job without starting it: parameters, memory, estimated duration, warnings',
        description:
          'The body of POST /v1/jobs. Answers what the job would take and the warnings a careful practitioner would give (features on very different scales with normalize none, a learning rate that usually diverges for these activations, a rare class, more parameters than training samples); nothing is stored or queued. Quotas are checked when the job is really created.',
        querystring: NoQuery,
        body: CreateJob,
        response: { 200: DryRun, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const { tenantId } = request;
      const body = request.body;
      const { dataset, network } = await getJobReferences(db, tenantId, body);
      if (dataset.deletedAt)
        throw new ApiError('BP_ERR_DATASET_DELETED', `datasetId: dataset ${dataset.id} was deleted`, {
          reason: 'deleted',
        });
      if (network.deletedAt)
        throw new ApiError('BP_ERR_NETWORK_DELETED', `networkId: network ${network.id} was deleted`, {
          reason: 'deleted',
        });
      const layers = StoredLayers.parse(network.layers);
      const plan = planTraining(dataset, { inputSize: network.inputSize, layers }, body.training, env);
      const run = plan.training.run;
      const trainSamples = run?.trainSamples ?? dataset.samples;
      const batchSize = run?.batchSize ?? trainSamples;
      const flops = flopsOf(network.parameterCount, batchSize, plan.updates);
      const calibration = calibrate(
        await recentFinishedJobs(db, env.DRY_RUN_CALIBRATION_JOBS),
        env.DRY_RUN_DEFAULT_SECONDS_PER_FLOP,
      );
      const classes = storedClasses(dataset.classes);
      let classCounts: { label: string; count: number }[] | null = null;
      if (classes && dataset.task !== 'regression') {
        const y = await getDatasetLabels(db, tenantId, dataset.id);
        const counts = new Array<number>(classes.length).fill(0);
        for (const label of bytesToFloat64(y ?? new Uint8Array())) counts[label] = (counts[label] ?? 0) + 1;
        classCounts = classes.map((label, k) => ({ label: String(label), count: counts[k] ?? 0 }));
      }
      return {
        valid: true as const,
        training: StoredTraining.parse(plan.training),
        parameterCount: network.parameterCount,
        trainSamples,
        batchSize,
        updates: plan.updates,
        flops,
        memoryBytes: memoryOf({
          parameterCount: network.parameterCount,
          optimizer: plan.training.optimizer ?? 'gd',
          batchSize,
          units: layers.map((l) => l.units),
          samples: dataset.samples,
          inputSize: network.inputSize,
          outputSize: layers.at(-1)?.units ?? 1,
          bytesPerValue: plan.training.dtype === 'float32' ? 4 : 8,
        }),
        estimatedSeconds: flops * calibration.secondsPerFlop,
        calibration,
        warnings: warningsFor({
          normalize: plan.training.normalize ?? 'standard',
          featureStats: StoredFeatureStats.parse(dataset.featureStats),
          learningRate: plan.training.learningRate,
          optimizer: plan.training.optimizer ?? 'gd',
          activations: layers.map((l) => l.activation),
          classCounts,
          parameterCount: network.parameterCount,
          trainSamples,
        }),
      };
    },
  );
}
