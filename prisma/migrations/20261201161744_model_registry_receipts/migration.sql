-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN     "contentHash" TEXT;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "name" TEXT,
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "version" INTEGER;

-- AlterTable
ALTER TABLE "TrainingJob" ADD COLUMN     "receipt" JSONB;

-- CreateTable
CREATE TABLE "RegisteredModel" (
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "lastVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RegisteredModel_pkey" PRIMARY KEY ("tenantId","name")
);

-- CreateTable
CREATE TABLE "ModelAlias" (
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "modelId" UUID NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelAlias_pkey" PRIMARY KEY ("tenantId","name","alias")
);

-- CreateIndex
CREATE INDEX "ModelAlias_modelId_idx" ON "ModelAlias"("modelId");

-- CreateIndex
CREATE UNIQUE INDEX "Model_tenantId_name_version_key" ON "Model"("tenantId", "name", "version");

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_tenantId_name_fkey" FOREIGN KEY ("tenantId", "name") REFERENCES "RegisteredModel"("tenantId", "name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
