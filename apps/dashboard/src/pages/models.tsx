import { JobPage as JobList } from '@backprop/contracts';
import { call } from '../api.ts';
import { useResource } from '../use-resource.ts';
import { JobTable } from './jobs.tsx';

/** Models: every model comes from a succeeded job, so the list is those jobs. */
export function ModelsPage() {
  const list = useResource(() => call('GET', '/v1/jobs?status=succeeded&limit=100', JobList), []);
  return (
    <>
      <h1>Models</h1>
      <p>Each succeeded job made one model (deleted ones show —).</p>
      {list.error && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      {list.data && list.data.items.length === 0 && <p>None yet: a job that succeeds makes one.</p>}
      {list.data && list.data.items.length > 0 && <JobTable jobs={list.data.items} />}
    </>
  );
}
