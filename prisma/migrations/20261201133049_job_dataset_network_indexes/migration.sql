-- CreateIndex
CREATE INDEX "TrainingJob_datasetId_idx" ON "TrainingJob"("datasetId");

-- CreateIndex
CREATE INDEX "TrainingJob_networkId_idx" ON "TrainingJob"("networkId");
