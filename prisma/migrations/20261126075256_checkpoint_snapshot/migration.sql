-- AlterTable
ALTER TABLE "Checkpoint" DROP COLUMN "optimizerState",
DROP COLUMN "parameters",
ADD COLUMN     "snapshot" BYTEA NOT NULL;
