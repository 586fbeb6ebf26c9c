-- CreateEnum
CREATE TYPE "Task" AS ENUM ('binary', 'multiclass', 'regression');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "Tenant" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dataset" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "task" "Task" NOT NULL,
    "samples" INTEGER NOT NULL,
    "features" INTEGER NOT NULL,
    "featureNames" JSONB NOT NULL,
    "labelName" TEXT NOT NULL,
    "classes" JSONB,
    "x" BYTEA NOT NULL,
    "y" BYTEA NOT NULL,
    "featureStats" JSONB NOT NULL,
    "byteSize" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Network" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "inputSize" INTEGER NOT NULL,
    "layers" JSONB NOT NULL,
    "init" TEXT NOT NULL,
    "parameterCount" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Network_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingJob" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenantId" UUID NOT NULL,
    "datasetId" UUID NOT NULL,
    "networkId" UUID NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "training" JSONB NOT NULL,
    "idempotencyKey" TEXT,
    "requestHash" TEXT,
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "iterations" INTEGER NOT NULL,
    "cost" DOUBLE PRECISION,
    "costEvery" INTEGER NOT NULL,
    "costs" BYTEA NOT NULL DEFAULT '\x',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "workerId" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrainingJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "jobId" UUID NOT NULL,
    "iteration" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "parameters" BYTEA NOT NULL,
    "optimizerState" BYTEA NOT NULL,
    "state" JSONB NOT NULL,
    "costs" BYTEA NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Checkpoint_pkey" PRIMARY KEY ("jobId")
);

-- CreateTable
CREATE TABLE "Model" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenantId" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "inputSize" INTEGER NOT NULL,
    "layers" JSONB NOT NULL,
    "task" "Task" NOT NULL,
    "classes" JSONB,
    "parameters" BYTEA NOT NULL,
    "normalization" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_name_key" ON "Tenant"("name");

-- CreateIndex
CREATE INDEX "Dataset_tenantId_createdAt_id_idx" ON "Dataset"("tenantId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_id_tenantId_key" ON "Dataset"("id", "tenantId");

-- CreateIndex
CREATE INDEX "Network_tenantId_createdAt_id_idx" ON "Network"("tenantId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Network_id_tenantId_key" ON "Network"("id", "tenantId");

-- CreateIndex
CREATE INDEX "TrainingJob_tenantId_status_createdAt_idx" ON "TrainingJob"("tenantId", "status", "createdAt");

-- CreateIndex
CREATE INDEX "TrainingJob_tenantId_createdAt_id_idx" ON "TrainingJob"("tenantId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "TrainingJob_status_createdAt_idx" ON "TrainingJob"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingJob_tenantId_idempotencyKey_key" ON "TrainingJob"("tenantId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "Model_jobId_key" ON "Model"("jobId");

-- CreateIndex
CREATE INDEX "Model_tenantId_createdAt_id_idx" ON "Model"("tenantId", "createdAt", "id");

-- AddForeignKey
ALTER TABLE "Dataset" ADD CONSTRAINT "Dataset_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Network" ADD CONSTRAINT "Network_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingJob" ADD CONSTRAINT "TrainingJob_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingJob" ADD CONSTRAINT "TrainingJob_datasetId_tenantId_fkey" FOREIGN KEY ("datasetId", "tenantId") REFERENCES "Dataset"("id", "tenantId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingJob" ADD CONSTRAINT "TrainingJob_networkId_tenantId_fkey" FOREIGN KEY ("networkId", "tenantId") REFERENCES "Network"("id", "tenantId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "TrainingJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "TrainingJob"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
