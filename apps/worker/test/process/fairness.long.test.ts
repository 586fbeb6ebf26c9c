/**
 * Fairness between tenants (issue 7): one tenant's long jobs must not hold another tenant's short
 * job in the queue. With TENANT_MAX_RUNNING_JOBS = 1 and one worker of two slots, tenant A's three
 * long jobs run one at a time (in the order they were created: a deferred job is not overtaken,
 * so it cannot starve), and tenant B's job runs meanwhile. A deferred job shows `queued`, spends
 * no attempt, and is taken once A's running job ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planarCsv } from '../../../../harness/api-context.ts';
import { eventually } from '../../../../harness/processes.ts';
import { createReport, createStack, type JobView, networkBody, type Stack } from './harness.ts';

let stack: Stack;
const report = createReport('fairness.long.test.ts');

beforeAll(async () => {
  stack = await createStack({
    WORKER_CONCURRENCY: '2',
    TENANT_MAX_RUNNING_JOBS: '1',
    TENANT_CAP_RETRY_MS: '300',
  });
});

afterAll(async () => {
  report.flush();
  await stack?.close();
});

type Job = JobView & { createdAt: string; worker: { alive: boolean } | null };

describe('a per-tenant cap on running jobs', () => {
  it("tenant A's long jobs run one at a time in order; tenant B's short job runs meanwhile; the deferred ones wait as queued and spend no attempt", async () => {
    // Tenant B: its own key, dataset and network.
    const b = await stack.ctx.createTenantKey('tenant-b');
    const asB = async (method: 'GET' | 'POST', url: string, payload?: unknown, type = 'application/json') => {
      const res = await stack.ctx.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${b.apiKey}`, 'content-type': type },
        ...(payload === undefined ? {} : { payload: payload as string }),
      });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const dataset = await asB('POST', '/v1/datasets?name=planar', await planarCsv(), 'text/csv');
    expect(dataset.status).toBe(201);
    const network = await asB('POST', '/v1/networks', networkBody(4));
    expect(network.status).toBe(201);

    const worker = stack.spawnWorker();
    await worker.waitForLog((l) => l.msg === 'worker ready');
    const networkA = await stack.createNetwork(32);
    const aJobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      aJobs.push(await stack.startJob({ learningRate: 0.3, iterations: 20_000, costEvery: 100 }, networkA));
    }
    const [a1, a2, a3] = aJobs as [string, string, string];
    await eventually(
      () => stack.job(a1),
      (j) => j.status === 'running',
    );
    const created = await asB('POST', '/v1/jobs', {
      datasetId: dataset.body['id'],
      networkId: network.body['id'],
      training: { learningRate: 1.2, iterations: 100 },
    });
    expect(created.status).toBe(202);
    const bJob = created.body['id'] as string;

    const bDone = await eventually(
      async () => (await asB('GET', `/v1/jobs/${bJob}`)).body,
      (j) => j['status'] !== 'queued' && j['status'] !== 'running',
      120_000,
    );
    expect(bDone['status']).toBe('succeeded');
    // While B ran and finished, A's first job was still training and the other two waited, shown
    // as queued with no worker.
    const [a1Then, a2Then, a3Then] = (await Promise.all(aJobs.map((id) => stack.job(id)))) as Job[];
    expect(a1Then!.status).toBe('running');
    for (const waiting of [a2Then!, a3Then!]) {
      expect(waiting.status).toBe('queued');
      expect(waiting.worker).toBeNull();
      expect(waiting.attempts).toBe(0);
    }
    expect(worker.lines.some((l) => l.jobId === a2 && l.msg.startsWith('deferred'))).toBe(true);

    const done = (await Promise.all(
      aJobs.map((id) => stack.waitForStatus(id, ['succeeded', 'failed'], 300_000)),
    )) as Job[];
    for (const job of done) {
      expect(job.status).toBe('succeeded');
      expect(job.attempts).toBe(1);
    }
    // One at a time, in creation order: each starts after the previous one finished.
    for (let i = 1; i < done.length; i++) {
      expect(Date.parse(done[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done[i - 1]!.finishedAt!));
    }
    expect(Date.parse(bDone['finishedAt'] as string)).toBeLessThan(Date.parse(done[0]!.finishedAt!));
    // Deferrals spent no attempt in the queue either: the one attempt made is the successful one.
    for (const id of [a2, a3]) expect((await stack.queueEntryWhen(id, 'completed')).attemptsMade).toBe(1);

    const deferrals = worker.lines.filter((l) => l.msg.startsWith('deferred')).length;
    report.record('fairness', {
      tenantMaxRunningJobs: 1,
      workerConcurrency: 2,
      bWaitedMs: Date.parse(bDone['startedAt'] as string) - Date.parse(bDone['createdAt'] as string),
      aJobMs: done.map((j) => Date.parse(j.finishedAt!) - Date.parse(j.startedAt!)),
      deferrals,
    });
  });
});
