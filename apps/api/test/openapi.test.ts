/**
 * The OpenAPI document as a product: what the API serves at /openapi.json passes Redocly's
 * recommended lint, and a client generated from it with openapi-typescript's default options
 * compiles (tsc, strict) with openapi-fetch and works against the real service, sending only the
 * required fields (those with defaults are optional in the generated types).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const tscBin = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

let ctx: ApiContext;
let documentText: string;
beforeAll(async () => {
  ctx = await createApiContext();
  const res = await ctx.anonymous({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  documentText = res.body;
});
afterAll(async () => ctx?.close());

describe('redocly lint, recommended rules', () => {
  it('reports no errors, and no warnings but the two that do not apply', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: documentText,
      absoluteRef: 'openapi.json', // no URL: nothing to fetch
      config,
    });
    const found = problems.map(
      (p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`,
    );
    expect(found.filter((p) => p.startsWith('error'))).toEqual([]);
    // No license is chosen yet; the health probes answer no 4xx (no input, no key, no limit).
    expect(found.filter((p) => p.startsWith('warn')).map((p) => p.split(':')[0])).toEqual([
      'warn info-license #/info',
      'warn operation-4xx-response #/paths/~1healthz/get/responses',
      'warn operation-4xx-response #/paths/~1readyz/get/responses',
    ]);
  });

  it('has one schema per shape: no input variant the same as its output, none unused', () => {
    const doc = z
      .object({ components: z.object({ schemas: z.record(z.string(), z.unknown()) }) })
      .parse(JSON.parse(documentText));
    // Parameters are both sent (initialParameters) and answered: one schema serves both.
    expect(Object.keys(doc.components.schemas).sort()).toEqual(
      [
        'Alias',
        'ConflictDetails',
        'Dataset',
        'DryRun',
        'Error',
        'Evaluation',
        'FieldDetails',
        'IssuesDetails',
        'Job',
        'LimitDetails',
        'LineDetails',
        'Model',
        'Network',
        'Parameters',
        'Receipt',
        'RegisteredModel',
        'Usage',
        'CreatedWebhook',
        'Webhook',
        'WebhookDelivery',
      ].sort(),
    );
  });

  it('describes every response and declares every error with the error schema', () => {
    const Operation = z.object({
      operationId: z.string(),
      summary: z.string(),
      responses: z.record(
        z.string(),
        z.object({
          description: z.string(),
          content: z
            .record(z.string(), z.object({ schema: z.object({ $ref: z.string() }).partial() }))
            .optional(),
        }),
      ),
    });
    const doc = z
      .object({ paths: z.record(z.string(), z.record(z.string(), Operation)) })
      .parse(JSON.parse(documentText));
    const operationIds = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        operationIds.add(operation.operationId);
        for (const [status, response] of Object.entries(operation.responses)) {
          const where = `${method} ${path} ${status}`;
          expect(response.description, where).not.toBe('Default Response');
          if (status.startsWith('4') && path.startsWith('/v1/')) {
            expect(response.content?.['application/json']?.schema.$ref, where).toBe(
              '#/components/schemas/Error',
            );
          }
        }
        if (!path.startsWith('/v1/')) continue;
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['401', '429', ...(path.includes('{id}') ? ['400', '404'] : [])]),
        );
      }
    }
    expect(operationIds.size).toBe(Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length);
  });

  it('the 413 and 415 it declares on operations that take a body are answered', async () => {
    const doc = z
      .object({
        paths: z.record(
          z.string(),
          z.record(
            z.string(),
            z.object({ requestBody: z.unknown().optional(), responses: z.record(z.string(), z.unknown()) }),
          ),
        ),
      })
      .parse(JSON.parse(documentText));
    const id = '00000000-0000-4000-8000-000000000000';
    let probed = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.requestBody) continue;
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['413', '415']),
        );
        const url = path.replace('{id}', id);
        const xml = await ctx.app.inject({
          method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE']).parse(method.toUpperCase()),
          url,
          headers: { 'content-type': 'application/xml' },
          payload: '<a/>',
        });
        expect(xml.statusCode, `${method} ${path}`).toBe(415);
        probed++;
      }
    }
    expect(probed).toBeGreaterThanOrEqual(8);
  });
});

/** A small client, as a user would write it, against the generated types. */
const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './schema.ts';

export async function trainOnce(baseUrl: string, apiKey: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } });
  const dataset = await client.POST('/v1/datasets', {
    body: { features: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0] },
  });
  if (!dataset.data) throw new Error(\`dataset: \${JSON.stringify(dataset.error)}\`);
  const network = await client.POST('/v1/networks', {
    body: { inputSize: 2, layers: [{ units: 3, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }] },
  });
  if (!network.data) throw new Error(\`network: \${JSON.stringify(network.error)}\`);
  const job = await client.POST('/v1/jobs', {
    body: { datasetId: dataset.data.id, networkId: network.data.id, training: { learningRate: 0.5, iterations: 10 } },
  });
  if (!job.data) throw new Error(\`job: \${JSON.stringify(job.error)}\`);
  const polled = await client.GET('/v1/jobs/{id}', { params: { path: { id: job.data.id } } });
  const missing = await client.GET('/v1/networks/{id}', {
    params: { path: { id: '00000000-0000-4000-8000-000000000000' } },
  });
  const error: { code: string } | undefined = missing.error;
  return { samples: dataset.data.samples, status: polled.data?.status, missing: error?.code };
}
`;

describe('a client generated with openapi-typescript (default options) and openapi-fetch', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('compiles under tsc --strict and creates a network and a job with only the required fields', async () => {
    // Inside apps/api so that the client resolves openapi-fetch from the workspace's node_modules.
    dir = await mkdtemp(join(apiDir, '.openapi-client-'));
    const types = astToString(await openapiTS(JSON.parse(documentText)));
    await writeFile(join(dir, 'schema.ts'), types);
    await writeFile(join(dir, 'client.ts'), CLIENT);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          allowImportingTsExtensions: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
          lib: ['ES2022', 'DOM'],
        },
        files: ['client.ts'],
      }),
    );
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const compiled = await promisify(execFile)(process.execPath, [
      tscBin,
      '-p',
      join(dir, 'tsconfig.json'),
    ]).then(
      () => 'ok',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(compiled).toBe('ok');

    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = z.object({ port: z.number() }).parse(ctx.app.server.address());
    const client: { trainOnce(baseUrl: string, apiKey: string): Promise<unknown> } = await import(
      pathToFileURL(join(dir, 'client.ts')).href
    );
    expect(await client.trainOnce(`http://127.0.0.1:${port}`, ctx.apiKey)).toEqual({
      samples: 4,
      status: expect.stringMatching(/^(queued|running|succeeded)$/),
      missing: 'BP_ERR_NETWORK_NOT_FOUND',
    });
  }, 300_000); // tsc on a loaded machine: seconds usually, minutes at worst
});
