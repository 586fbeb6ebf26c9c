-- The job's costEvery was stored twice: in its training plan (PlannedTraining.costEvery, what the
-- worker trains with) and in this column, a copy. The plan keeps it; a row whose plan lacks it
-- (none is known) gets the column's value first, so nothing is lost.
UPDATE "TrainingJob" SET "training" = jsonb_set("training", '{costEvery}', to_jsonb("costEvery"))
WHERE NOT ("training" ? 'costEvery');

-- AlterTable
ALTER TABLE "TrainingJob" DROP COLUMN "costEvery";
