-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN     "deletedAt" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "Network" ADD COLUMN     "deletedAt" TIMESTAMPTZ(3);
