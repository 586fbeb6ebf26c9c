import {
  DatasetPage as DatasetList,
  Job,
  JobPage as JobList,
  NetworkPage as NetworkList,
  Training,
} from '@backprop/contracts';
import { useMemo, useState } from 'preact/hooks';
import { call } from '../api.ts';
import { when } from '../format.ts';
import { ErrorAlert, useAction } from '../forms.tsx';
import { type Column, ListingPage } from '../listing.tsx';
import { href, navigate } from '../route.ts';
import { optionFields, trainingBody } from '../training-options.ts';
import { useResource } from '../use-resource.ts';

/** Jobs: start one (every training option, its default explained), and the list. */
export function JobsPage() {
  return (
    <ListingPage
      title="Jobs"
      listTitle="Your jobs"
      load={() => call('GET', '/v1/jobs?limit=50', JobList)}
      empty="None yet."
      columns={JOB_COLUMNS}
    >
      <NewJob />
    </ListingPage>
  );
}

/** A job as a row: its id, status, progress, creation and model, the first two as links. */
export const JOB_COLUMNS: Column<Job>[] = [
  { header: 'Job', cell: (j) => <a href={href({ page: 'job', id: j.id })}>{j.id.slice(0, 8)}</a> },
  { header: 'Status', cell: (j) => <span class={`status ${j.status}`}>{j.status}</span> },
  { header: 'Progress', cell: (j) => `${j.progress.iteration} / ${j.progress.iterations}` },
  { header: 'Created', cell: (j) => when(j.createdAt) },
  {
    header: 'Model',
    cell: (j) =>
      j.modelId ? <a href={href({ page: 'model', id: j.modelId })}>{j.modelId.slice(0, 8)}</a> : '—',
  },
];

function NewJob() {
  const datasets = useResource(() => call('GET', '/v1/datasets?limit=100', DatasetList), []);
  const networks = useResource(() => call('GET', '/v1/networks?limit=100', NetworkList), []);
  const fields = useMemo(optionFields, []);
  const [datasetId, setDatasetId] = useState('');
  const [networkId, setNetworkId] = useState('');
  const [values, setValues] = useState<Record<string, string>>({ learningRate: '0.01', iterations: '1000' });
  const { busy, error, run } = useAction();

  const dataset = datasetId || datasets.data?.items[0]?.id || '';
  const network = networkId || networks.data?.items[0]?.id || '';
  const training = trainingBody(values);
  const checked = Training.safeParse(training);
  const issue = checked.success ? undefined : checked.error.issues[0];

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      const job = await call('POST', '/v1/jobs', Job, { datasetId: dataset, networkId: network, training });
      navigate({ page: 'job', id: job.id });
    });
  }

  return (
    <section class="card" aria-labelledby="new-job-title">
      <h2 id="new-job-title">Start a training job</h2>
      <form onSubmit={submit}>
        <div class="row">
          <label>
            Dataset
            <select value={dataset} onChange={(e) => setDatasetId(e.currentTarget.value)} required>
              {datasets.data?.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.samples} × {d.features}, {d.task})
                </option>
              ))}
            </select>
          </label>
          <label>
            Network
            <select value={network} onChange={(e) => setNetworkId(e.currentTarget.value)} required>
              {networks.data?.items.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.name} ({n.inputSize} → {n.layers.map((l) => l.units).join(' → ')})
                </option>
              ))}
            </select>
          </label>
        </div>
        <fieldset>
          <legend>Training options</legend>
          <p class="help">Leave a field empty to take its default.</p>
          <div class="options">
            {fields.map((f) => {
              const id = `option-${f.name}`;
              const value = values[f.name] ?? '';
              const set = (v: string) => setValues((vs) => ({ ...vs, [f.name]: v }));
              const help = `${f.description}${f.description ? '. ' : ''}${
                f.required ? 'Required.' : f.default !== undefined ? `Default: ${f.default}.` : 'Optional.'
              }`;
              return (
                <div class="option" key={f.name}>
                  <label for={id}>
                    {f.name}
                    {f.kind === 'patience' ? ' (patience)' : ''}
                  </label>
                  {f.kind === 'choice' ? (
                    <select
                      id={id}
                      value={value}
                      onChange={(e) => set(e.currentTarget.value)}
                      aria-describedby={`${id}-help`}
                    >
                      <option value="">default{f.default ? ` (${f.default})` : ''}</option>
                      {f.choices?.map((c) => (
                        <option key={c}>{c}</option>
                      ))}
                    </select>
                  ) : f.kind === 'json' ? (
                    <textarea
                      id={id}
                      rows={2}
                      placeholder='{"W1": [[...]], "b1": [[...]], ...}'
                      value={value}
                      onInput={(e) => set(e.currentTarget.value)}
                      aria-describedby={`${id}-help`}
                    />
                  ) : (
                    <input
                      id={id}
                      type="number"
                      step="any"
                      min={f.min}
                      max={f.max}
                      placeholder={f.default}
                      required={f.required}
                      value={value}
                      onInput={(e) => set(e.currentTarget.value)}
                      aria-describedby={`${id}-help`}
                    />
                  )}
                  <small id={`${id}-help`}>{help}</small>
                </div>
              );
            })}
          </div>
        </fieldset>
        {issue && (
          <p class="error" data-testid="training-issue">
            {issue.path.join('.') || 'training'}: {issue.message}
          </p>
        )}
        <button type="submit" disabled={busy || !dataset || !network || issue !== undefined}>
          Start training
        </button>
        <ErrorAlert error={error} />
      </form>
    </section>
  );
}
