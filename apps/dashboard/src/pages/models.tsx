import { JobPage as JobList } from '@backprop/contracts';
import { call } from '../api.ts';
import { ListingPage } from '../listing.tsx';
import { JOB_COLUMNS } from './jobs.tsx';

/** Models: every model comes from a succeeded job, so the list is those jobs. */
export function ModelsPage() {
  return (
    <ListingPage
      title="Models"
      load={() => call('GET', '/v1/jobs?status=succeeded&limit=100', JobList)}
      empty="None yet: a job that succeeds makes one."
      columns={JOB_COLUMNS}
    >
      <p>Each succeeded job made one model (deleted ones show —).</p>
    </ListingPage>
  );
}
