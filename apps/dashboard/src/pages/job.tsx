import { Job } from '@backprop/contracts';
import { useEffect, useState } from 'preact/hooks';
import { call, messageOf } from '../api.ts';
import { CostChart } from '../components/cost-chart.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { fixed, when } from '../format.ts';
import { ErrorAlert } from '../forms.tsx';
import { isTerminal, type LiveJob, watchJob } from '../live.ts';
import { href } from '../route.ts';

/** One job, live: status, progress with ETA, the cost curves as they grow, and cancel. */
export function JobPage({ id }: { id: string }) {
  const [live, setLive] = useState<LiveJob>();
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);

  useEffect(
    () =>
      watchJob(
        id,
        (next) => {
          setLive(next);
          setError(undefined);
        },
        (err) => setError(messageOf(err)),
      ),
    [id, round],
  );

  async function cancel() {
    try {
      await call('POST', `/v1/jobs/${id}/cancel`, Job);
      setRound((r) => r + 1); // read it again (and stop watching once it is cancelled)
    } catch (err) {
      setError(messageOf(err));
    }
  }

  if (!live) return error ? <ErrorAlert error={error} /> : <p>Loading…</p>;
  const { job, costs } = live;
  const finished = isTerminal(job);
  return (
    <>
      <h1>
        Job <code>{job.id.slice(0, 8)}</code>{' '}
        <span class={`status ${job.status}`} data-testid="job-status">
          {job.status}
        </span>
      </h1>
      {!finished && (
        <p class="help" data-testid="job-transport">
          {live.transport === 'events' ? 'Live: events pushed by the API.' : 'Live: read every second.'}
        </p>
      )}
      <ProgressBar
        iteration={job.progress.iteration}
        iterations={job.progress.iterations}
        rate={live.rate}
        etaMs={live.etaMs}
      />
      {!finished && (
        <button type="button" class="danger" onClick={cancel}>
          Cancel job
        </button>
      )}
      <ErrorAlert error={error} />
      <h2>Cost</h2>
      <CostChart costs={costs} iterations={job.progress.iterations} />
      {job.error && (
        <p class="error" role="alert">
          {job.error.code}: {job.error.message}
        </p>
      )}
      {job.modelId && (
        <p>
          <a class="button" href={href({ page: 'model', id: job.modelId })} data-testid="model-link">
            Open the model
          </a>
        </p>
      )}
      <h2>Details</h2>
      <dl class="facts">
        <dt>Latest cost</dt>
        <dd>{fixed(job.cost)}</dd>
        <dt>Dataset</dt>
        <dd>
          <a href={href({ page: 'dataset', id: job.datasetId })}>{job.datasetId.slice(0, 8)}</a>
        </dd>
        <dt>Created</dt>
        <dd>{when(job.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{when(job.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(job.finishedAt)}</dd>
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
        <dt>Training</dt>
        <dd>
          <code>{JSON.stringify(job.training)}</code>
        </dd>
      </dl>
    </>
  );
}
