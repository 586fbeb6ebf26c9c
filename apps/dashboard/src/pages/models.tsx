import { JobPage as JobList } from '@backprop/contracts';
import { call } from '../api.ts';
import { Listing } from '../listing.tsx';
import { useResource } from '../use-resource.ts';
import { JOB_COLUMNS } from './jobs.tsx';

/** Models: every model comes from a succeeded job, so the list is those jobs. */
export function ModelsPage() {
  const list = useResource(() => call('GET', '/v1/jobs?status=succeeded&limit=100', JobList), []);
  return (
    <>
      <h1>Models</h1>
      <p>Each succeeded job made one model (deleted ones show —).</p>
      <Listing resource={list} empty="None yet: a job that succeeds makes one." columns={JOB_COLUMNS} />
    </>
  );
}
