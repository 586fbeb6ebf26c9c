import { duration } from '../format.ts';

/** Updates done of the plan, with the rate and the time left when known. */
export function ProgressBar(props: {
  iteration: number;
  iterations: number;
  rate: number | null;
  etaMs: number | null;
}) {
  const { iteration, iterations, rate, etaMs } = props;
  const share = iterations > 0 ? iteration / iterations : 0;
  return (
    <div class="progress-block">
      <label>
        {iteration.toLocaleString()} of {iterations.toLocaleString()} updates ({(share * 100).toFixed(0)} %)
        <progress max={iterations} value={iteration} data-testid="job-progress" />
      </label>
      <p class="help" data-testid="job-eta">
        {rate ? `${Math.round(rate).toLocaleString()} updates/s` : 'measuring speed…'}
        {etaMs !== null ? ` · about ${duration(etaMs)} to go` : ''}
      </p>
    </div>
  );
}
