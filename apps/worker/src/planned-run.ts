/** The worker's check that @backprop/nn will train the run a job planned when it was created. */
import { TrainingRun } from '@backprop/contracts';
import type { UpdatePlan } from '@backprop/nn';

/**
 * Why nn's plan of the job's options differs from the run stored with the job (a newer nn that
 * counts updates or splits otherwise would train something else than the job promised), or null
 * when they agree. Jobs created before the numbers were stored have none to compare.
 */
export function runMismatch(planned: TrainingRun | undefined, plan: UpdatePlan): string | null {
  if (planned === undefined) return null;
  for (const key of TrainingRun.keyof().options) {
    if (planned[key] !== plan[key]) {
      return `the job was planned with ${key} = ${planned[key]}, but @backprop/nn plans ${key} = ${plan[key]} for its options`;
    }
  }
  return null;
}
