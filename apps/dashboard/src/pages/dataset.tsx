import { Dataset } from '@backprop/contracts';
import { call } from '../api.ts';
import { bytes, fixed, when } from '../format.ts';
import { ErrorAlert } from '../forms.tsx';
import { useResource } from '../use-resource.ts';

/** One dataset: its shape, classes and the statistics of every feature. */
export function DatasetPage({ id }: { id: string }) {
  const { data: d, error } = useResource(() => call('GET', `/v1/datasets/${id}`, Dataset), [id]);
  if (error) return <ErrorAlert error={error} />;
  if (!d) return <p>Loading…</p>;
  return (
    <>
      <h1>Dataset {d.name}</h1>
      <dl class="facts">
        <dt>Task</dt>
        <dd data-testid="dataset-task">{d.task}</dd>
        <dt>Samples</dt>
        <dd data-testid="dataset-samples">{d.samples}</dd>
        <dt>Features</dt>
        <dd>{d.features}</dd>
        <dt>Label</dt>
        <dd>{d.labelName}</dd>
        {d.classes && (
          <>
            <dt>Classes</dt>
            <dd>{d.classes.join(', ')}</dd>
          </>
        )}
        <dt>Stored</dt>
        <dd>{bytes(d.byteSize)}</dd>
        <dt>Uploaded</dt>
        <dd>{when(d.createdAt)}</dd>
        <dt>Id</dt>
        <dd>
          <code>{d.id}</code>
        </dd>
      </dl>
      <h2>Feature statistics</h2>
      <div class="scroll">
        <table data-testid="feature-stats">
          <thead>
            <tr>
              <th scope="col">Feature</th>
              <th scope="col">Mean</th>
              <th scope="col">Std</th>
              <th scope="col">Min</th>
              <th scope="col">Max</th>
            </tr>
          </thead>
          <tbody>
            {d.featureStats.slice(0, 200).map((s) => (
              <tr key={s.name}>
                <th scope="row">{s.name}</th>
                <td>{fixed(s.mean)}</td>
                <td>{fixed(s.std)}</td>
                <td>{fixed(s.min)}</td>
                <td>{fixed(s.max)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {d.featureStats.length > 200 && <p>The first 200 of {d.featureStats.length} features.</p>}
      <p>
        <a class="button" href="#/networks">
          Define a network for it
        </a>
      </p>
    </>
  );
}
