/**
 * Issue 7, "the event loop stalls on big bodies": while one tenant sends a big body (a 60 MB CSV,
 * a 50 MB JSON dataset, an 85 MB predictions body), a second client keeps asking `/healthz`
 * over real HTTP, and its latencies are compared with a control measured in the same run with no
 * upload. The bounds are generous (the machine is shared and loaded); the figures are printed and
 * recorded in docs/reliability/holes-uploads.md.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
let port: number;

beforeAll(async () => {
  ctx = await createApiContext({ RATE_LIMIT_MAX: '100000' });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as AddressInfo).port;
});
afterAll(async () => ctx?.close());

/**
 * The second client runs in its own process: in this one, a stalled event loop would also hold
 * back the client's own requests, and the stall would hide between two samples.
 */
const SAMPLER = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
let stop = false;
process.stdin.on('data', () => { stop = true; });
const once = () => new Promise((resolve, reject) => {
  const started = performance.now();
  http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/healthz', agent }, (res) => {
    res.resume();
    res.on('end', () => resolve(performance.now() - started));
  }).on('error', reject);
});
(async () => {
  while (!stop) {
    latencies.push(await once());
    await new Promise((r) => setTimeout(r, 5));
  }
  process.stdout.write(JSON.stringify(latencies), () => process.exit(0));
})();
`;

function startSampler(): { stop(): Promise<number[]> } {
  const child = spawn(process.execPath, ['-e', SAMPLER, String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.write('stop\n');
      await exited;
      return z.array(z.number()).parse(JSON.parse(output));
    },
  };
}

interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function summarise(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/** A second client asks /healthz one request after another until `work` settles. */
async function sampleWhile<T>(work: () => Promise<T>): Promise<{ result: T; latencies: Latencies }> {
  const sampler = startSampler();
  await new Promise((r) => setTimeout(r, 300)); // let it start and warm up
  try {
    const result = await work();
    return { result, latencies: summarise(await sampler.stop()) };
  } catch (err) {
    await sampler.stop();
    throw err;
  }
}

function post(
  path: string,
  contentType: string,
  body: Buffer,
): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${ctx.apiKey}`,
          'content-type': contentType,
          'content-length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 2000) text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A valid CSV of about `megabytes` MB: label + 9 features of 9-10 characters each. */
function bigCsv(megabytes: number): Buffer {
  const row = (i: number) =>
    `${i % 2},${Array.from({ length: 9 }, (_, j) => ((i * 7 + j * 13) % 1000) / 7 + 0.123456)
      .map((v) => v.toFixed(6))
      .join(',')}\n`;
  const parts = ['label,a,b,c,d,e,f,g,h,i\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < megabytes * 1024 * 1024; i++) {
    const line = row(i);
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''));
}

function bigJsonDataset(megabytes: number): Buffer {
  const rows: string[] = [];
  const labels: number[] = [];
  let size = 0;
  for (let i = 0; size < megabytes * 1024 * 1024; i++) {
    const row = `[${Array.from({ length: 9 }, (_, j) => (((i * 7 + j * 13) % 1000) / 7 + 0.123456).toFixed(6)).join(',')}]`;
    rows.push(row);
    labels.push(i % 2);
    size += row.length + 3;
  }
  return Buffer.from(`{"features":[${rows.join(',')}],"labels":[${labels.join(',')}]}`);
}

function bigPredictions(megabytes: number): Buffer {
  const rows: string[] = [];
  let size = 0;
  for (let i = 0; size < megabytes * 1024 * 1024; i++) {
    const row = `[${(i % 1000) / 7},${(i % 999) / 3}]`;
    rows.push(row);
    size += row.length + 1;
  }
  return Buffer.from(`{"samples":[${rows.join(',')}]}`);
}

const figures: Record<string, unknown> = {};

describe('other clients are served while a big body is sent', () => {
  /** /healthz latency with no upload, measured right before each upload (the machine's load moves). */
  const control = async (figure: string) => {
    const { latencies } = await sampleWhile(() => new Promise((r) => setTimeout(r, 2000)));
    figures[`${figure}Control`] = latencies;
    expect(latencies.count).toBeGreaterThan(10);
    return latencies;
  };

  /**
   * Generous: the worst /healthz answer stays under a second plus ten times the control's p99
   * plus the control's own worst (a loaded machine's scheduling hiccups show there too). Before
   * issue 7's fixes the worst answers were 1.1-2 s (JSON) and 2.6-4.7 s (predictions) against a
   * quiet control of p99 3-6 ms and max 10-22 ms.
   */
  const bound = (c: Latencies) => 1000 + 10 * c.p99 + c.max;

  it.each([
    {
      name: 'a valid 60 MB CSV upload',
      figure: 'csv60',
      url: '/v1/datasets?name=big-csv',
      type: 'text/csv',
      body: () => bigCsv(60),
      answers: [201],
    },
    {
      name: 'a valid 50 MB JSON dataset upload',
      figure: 'json50',
      url: '/v1/datasets?name=big-json',
      type: 'application/json',
      body: () => bigJsonDataset(50),
      answers: [201],
    },
    {
      name: 'an 85 MB predictions body',
      figure: 'predict85',
      url: `/v1/models/${UNKNOWN_ID}/predictions`,
      type: 'application/json',
      body: () => bigPredictions(85),
      answers: [413, 422],
    },
  ])('$name', async ({ figure, url, type, body, answers }) => {
    const bytes = body();
    const quiet = await control(figure);
    const { result, latencies } = await sampleWhile(() => post(url, type, bytes));
    figures[figure] = { upload: { status: result.status, ms: Math.round(result.ms) }, healthz: latencies };
    expect(answers, result.text).toContain(result.status);
    expect(latencies.max, JSON.stringify(figures)).toBeLessThan(bound(quiet));
  });

  afterAll(() => {
    console.log(`upload stall figures: ${JSON.stringify(figures, null, 1)}`);
  });
});
