// @backprop/db: the Prisma client factory, the repositories (small verb-noun functions taking the
// client first, every read scoped by tenant), the migration runner and the bytes helpers.
export {
  type ApiKeySummary,
  authenticateApiKey,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from './api-keys.ts';
export { bytesToFloat64, float64ToBytes } from './bytes.ts';
export { type FinishedJobWork, getDatasetLabels, recentFinishedJobs } from './calibration.ts';
export { type CreateDbOptions, createDb, type Db, isDatabaseUnavailable } from './client.ts';
export { dropDatabase, ensureDatabase } from './databases.ts';
export {
  type DecodedChunk,
  type EncodedChunk,
  encodeChunk,
  encodeChunks,
  readDatasetChunks,
  samplesPerChunk,
} from './dataset-chunks.ts';
export {
  abandonDatasetUpload,
  appendDatasetChunk,
  beginDatasetUpload,
  completeDatasetUpload,
  uploadExceedsQuota,
} from './dataset-uploads.ts';
export {
  type CreateDatasetInput,
  createDataset,
  type DatasetDescription,
  type DatasetSummary,
  type DatasetWithValues,
  type DeleteDatasetResult,
  deleteAbandonedUploads,
  deleteDataset,
  type FeatureStats,
  getDataset,
  getDatasetWithValues,
  listDatasets,
} from './datasets.ts';
export {
  type CreateEvaluationInput,
  type CreateEvaluationResult,
  createEvaluation,
  deleteEvaluation,
  type EvaluationRow,
  getEvaluation,
  listEvaluations,
} from './evaluations.ts';
export {
  type ApiKey,
  type Checkpoint,
  type Dataset,
  JobStatus,
  type Model,
  type Network,
  Prisma,
  PrismaClient,
  Task,
  type Tenant,
  type TrainingJob,
} from './generated/prisma/client.ts';
export { assertMigrated, pingDatabase } from './health.ts';
export type { DbOrTx } from './internal.ts';
export {
  type CancelJobResult,
  type ClaimJobInput,
  type CompleteJobInput,
  type CreateJobInput,
  type CreateJobResult,
  cancelJob,
  claimJob,
  claimJobWithinTenantCap,
  completeJob,
  createJob,
  type DeleteJobResult,
  deleteCheckpointsOfFinishedJobs,
  deleteJob,
  type FailJobInput,
  type FairClaim,
  failJob,
  findJobsToReconcile,
  getCheckpoint,
  getJob,
  type JobSummary,
  type JobToReconcile,
  type JobWithModel,
  type ListJobsOptions,
  listJobs,
  MissingReferenceError,
  type RecordProgressInput,
  recordProgress,
  releaseJob,
  renewLease,
  type SaveCheckpointInput,
  saveCheckpoint,
} from './jobs.ts';
export { DEFAULT_DATABASE_URL, type MigrateOptions, migrate } from './migrate.ts';
export {
  deleteModel,
  getModel,
  getModelWithParameters,
  type ModelSummary,
} from './models.ts';
export {
  type CreateNetworkInput,
  createNetwork,
  type DeleteNetworkResult,
  deleteNetwork,
  getNetwork,
  type LayerSpec,
  listNetworks,
} from './networks.ts';
export { InvalidCursorError, type Page, type PageOptions } from './page.ts';
export {
  aliasesOf,
  deleteAlias,
  deleteModelUnlessAliased,
  ensureDatasetContentHash,
  findModelVersion,
  getJobReceiptSource,
  getModelOrigin,
  getRegisteredModel,
  type ListModelsOptions,
  listModels,
  type ModelOrigin,
  type RegisteredModelView,
  type RegisteredVersion,
  type RegistryRefusal,
  resolveAlias,
  setAlias,
  updateModelRegistration,
} from './registry.ts';
export { createTenant, DEFAULT_TENANT_ID, getTenantByName } from './tenants.ts';
export {
  BYTES_PER_PARAMETER,
  countActiveJobs,
  createDatasetWithinQuota,
  createJobWithinQuota,
  getStoredBytes,
  getTenantUsage,
  type JobQuota,
  type StorageRefusal,
  type StoredBytes,
  storedModelBytes,
  sweepStorage,
  type TenantUsage,
  totalStoredBytes,
  UnknownTenantError,
  withTenantLock,
} from './usage.ts';
export { recordJobEvents } from './webhook-events.ts';
export {
  abandonDelivery,
  type CreateWebhookEndpointResult,
  createWebhookEndpoint,
  type DeliveryAttempt,
  type DeliveryToSend,
  deleteFinishedDeliveries,
  deleteWebhookEndpoint,
  findDispatchedDeliveries,
  findUndispatchedDeliveries,
  getDeliveryToSend,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  markDeliveriesEnqueued,
  recordDeliveryAttempt,
  type WebhookEndpointSummary,
} from './webhooks.ts';
