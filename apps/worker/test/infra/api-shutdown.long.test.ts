/**
 * Scenario 13, the API's half (RELIABILITY.md): SIGTERM to the API process under load. A request
 * in flight finishes with its answer, requests that arrive while closing get 503 or a refused
 * connection (never a hang), and the process exits 0 well within SHUTDOWN_TIMEOUT_MS.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { countBy } from '../../../../harness/checks.ts';
import { createFixtures } from '../../../../harness/stack.ts';
import { usePrivateSpace } from './file-servers.ts';

const file = usePrivateSpace();

describe('SIGTERM to the API', () => {
  it('13: under load, the in-flight request completes, later ones get 503 or a refused connection, exit 0 in time', async () => {
    const s = file.space;
    const setup = await s.inProcessApi();
    const { datasetId, networkId } = await createFixtures(setup, 2);
    const submitted = await setup.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { datasetId, networkId, training: { learningRate: 1, iterations: 10 } },
    });
    await setup.close();
    const jobId = submitted.json().id as string;
    const api = await s.startApi({ SHUTDOWN_TIMEOUT_MS: '10000', LOG_LEVEL: 'warn' });

    // Load: four keep-alive clients polling.
    const answers: { status: number; error?: string }[] = [];
    let loading = true;
    const clients = [0, 1, 2, 3].map(async () => {
      while (loading) {
        const res = await s.fetch(api, 'GET', `/v1/jobs/${jobId}`, undefined, { timeoutMs: 15_000 }).then(
          (r) => ({ status: r.status }),
          (err: Error) => ({ status: 0, error: (err.cause as { code?: string })?.code ?? err.name }),
        );
        answers.push(res);
        if (res.status === 0) await new Promise((r) => setTimeout(r, 50));
      }
    });
    await new Promise((r) => setTimeout(r, 1000));

    // A request held in the database (its table locked) when SIGTERM arrives.
    const locker = new pg.Client({ connectionString: s.databaseUrl });
    locker.on('error', () => undefined);
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "TrainingJob" IN ACCESS EXCLUSIVE MODE');
    const inFlight = s.fetch(api, 'GET', `/v1/jobs/${jobId}`, undefined, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
    const termAt = Date.now();
    api.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await locker.query('COMMIT');
    await locker.end();
    const held = await inFlight;
    const exit = await api.exited;
    const exitMs = Date.now() - termAt;
    loading = false;
    await Promise.all(clients);

    expect(held.status).toBe(200);
    expect(exit.code).toBe(0);
    expect(exitMs).toBeLessThan(10_000);
    const statuses = new Set(answers.map((a) => a.status));
    for (const status of statuses) expect([200, 503, 0]).toContain(status);
    const errors = new Set(answers.filter((a) => a.error).map((a) => a.error));
    for (const e of errors) expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(e);
    console.log(
      `[13] SIGTERM under load: the request held in the database answered ${held.status}; exit ${exit.code} after ${exitMs} ms; ` +
        `answers ${JSON.stringify(countBy(answers.map((a) => a.error ?? a.status)))}`,
    );
  });
});
