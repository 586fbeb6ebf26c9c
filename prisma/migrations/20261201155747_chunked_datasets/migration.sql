-- CreateEnum
CREATE TYPE "DatasetStatus" AS ENUM ('uploading', 'ready');

-- CreateEnum
CREATE TYPE "ValueEncoding" AS ENUM ('uint8', 'int8', 'uint16', 'int16', 'int32', 'float32', 'float64');

-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN     "status" "DatasetStatus" NOT NULL DEFAULT 'ready';

-- CreateTable
CREATE TABLE "DatasetChunk" (
    "datasetId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "firstSample" INTEGER NOT NULL,
    "samples" INTEGER NOT NULL,
    "encoding" "ValueEncoding" NOT NULL,
    "values" BYTEA NOT NULL,

    CONSTRAINT "DatasetChunk_pkey" PRIMARY KEY ("datasetId","index")
);

-- AddForeignKey
ALTER TABLE "DatasetChunk" ADD CONSTRAINT "DatasetChunk_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing datasets keep their values: each becomes one float64 chunk (the bytes unchanged), then
-- the column goes. A soft-deleted dataset's emptied x has nothing to move.
INSERT INTO "DatasetChunk" ("datasetId", "index", "firstSample", "samples", "encoding", "values")
SELECT "id", 0, 0, "samples", 'float64', "x" FROM "Dataset" WHERE octet_length("x") > 0;

ALTER TABLE "Dataset" DROP COLUMN "x";
