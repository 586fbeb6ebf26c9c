-- AlterTable
ALTER TABLE "TrainingJob" DROP COLUMN "receipt";
