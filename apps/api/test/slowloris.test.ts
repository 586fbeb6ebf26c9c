/**
 * RELIABILITY.md scenario 17, slow clients (slowloris) against a real listening server: many
 * sockets that send their headers one byte at a time (never idle long enough for
 * CONNECTION_TIMEOUT_MS), sockets that send nothing, and an upload whose body trickles in. The
 * server closes each within REQUEST_TIMEOUT_MS (plus Node's checking interval, which app.ts
 * shortens to a quarter of the timeout), and normal requests meanwhile are answered while the slow
 * ones still hang on (the timeout is long enough that a loaded machine still answers well within it).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';

const REQUEST_TIMEOUT_MS = 5000;
const SLOW_SOCKETS = 100;

let ctx: ApiContext;
let port: number;
beforeAll(async () => {
  ctx = await createApiContext({
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    // Longer than the gaps between the slow clients' bytes: only the request timeout can help.
    CONNECTION_TIMEOUT_MS: '10000',
  });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as AddressInfo).port;
});
afterAll(async () => ctx?.close());

interface Slow {
  socket: net.Socket;
  opened: number;
  closedAfter: number | null;
  received: string;
}

/** A socket that writes `first`, then one byte of `drip` every `everyMs` until it is closed. */
function slowClient(first: string, drip: string, everyMs: number): Slow {
  const socket = net.connect(port, '127.0.0.1');
  const slow: Slow = { socket, opened: Date.now(), closedAfter: null, received: '' };
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    if (first) socket.write(first);
    if (drip) timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
  });
  socket.on('data', (d) => {
    slow.received += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    slow.closedAfter = Date.now() - slow.opened;
  });
  return slow;
}

function timedGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${path} did not answer within 5 s`)));
  });
}

describe('slow clients', () => {
  it(`${SLOW_SOCKETS} slowloris sockets, silent sockets and a trickling upload are closed; others are served meanwhile`, async () => {
    const clients: Slow[] = [];
    for (let i = 0; i < SLOW_SOCKETS; i++) {
      clients.push(slowClient(`GET /v1/datasets HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `, 'a', 400));
    }
    for (let i = 0; i < 10; i++) clients.push(slowClient('', '', 0)); // connect and say nothing
    const upload = slowClient(
      `POST /v1/datasets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.apiKey}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\nlabel,a\n`,
      '1',
      300,
    );
    clients.push(upload);

    // While they hang on, ordinary requests are answered: before any slow socket is let go, so
    // they did not wait for the slow ones.
    await new Promise((r) => setTimeout(r, 800));
    const during = await Promise.all([
      timedGet('/healthz'),
      timedGet('/v1/usage', { authorization: `Bearer ${ctx.apiKey}` }),
      timedGet('/v1/networks', { authorization: `Bearer ${ctx.apiKey}` }),
    ]);
    for (const r of during) expect(r.status, `answered after ${r.ms} ms`).toBe(200);
    expect(clients.filter((c) => c.closedAfter !== null)).toHaveLength(0);

    // Every slow socket is closed by the server within the timeout plus one checking interval
    // (and some room for a loaded machine's timers).
    const deadline = Date.now() + REQUEST_TIMEOUT_MS * 3;
    while (clients.some((c) => c.closedAfter === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const open = clients.filter((c) => c.closedAfter === null);
    for (const c of open) c.socket.destroy();
    expect(open).toHaveLength(0);
    const latest = Math.max(...clients.map((c) => c.closedAfter!));
    expect(latest).toBeLessThan(REQUEST_TIMEOUT_MS + REQUEST_TIMEOUT_MS / 4 + 3000);
    expect(Math.min(...clients.map((c) => c.closedAfter!))).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    // The ones that sent something were told why.
    for (const c of clients.slice(0, SLOW_SOCKETS)) expect(c.received).toMatch(/^HTTP\/1\.1 408/);
    expect(upload.received).toMatch(/^HTTP\/1\.1 408/);

    // And the server is still itself afterwards.
    expect((await timedGet('/healthz')).status).toBe(200);
    expect(await ctx.database.db.dataset.count()).toBe(0);
  });
});
