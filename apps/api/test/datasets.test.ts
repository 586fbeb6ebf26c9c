import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from './context.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_DATASET_ROWS: '1000' });
});
afterAll(async () => ctx?.close());

describe('POST /v1/datasets (CSV)', () => {
  it('stores the planar data and infers a binary task with feature statistics', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/datasets?name=planar',
      headers: { 'content-type': 'text/csv' },
      payload: await planarCsv(),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'planar', samples: 400, features: 2, task: 'binary', classes: [0, 1] });
    expect(body.featureStats.map((s: { name: string }) => s.name)).toEqual(['x1', 'x2']);
    expect(res.headers.location).toBe(`/v1/datasets/${body.id}`);
    const again = await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${body.id}` });
    expect(again.json()).toEqual(body);
  });

  it('rejects a ragged row naming the line, and stores nothing', async () => {
    const before = await ctx.database.db.dataset.count();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': 'text/csv' },
      payload: 'label,a,b\n1,2,3\n0,4\n',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BP_ERR_VALIDATION', message: 'line 3 has 2 values but the header has 3 columns' });
    expect(await ctx.database.db.dataset.count()).toBe(before);
  });

  it('names the limit when there are too many rows', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => `${i % 2},${i}`).join('\n');
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': 'text/csv' },
      payload: `label,x\n${rows}\n`,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'BP_ERR_LIMIT_EXCEEDED', details: { limit: 'LIMIT_DATASET_ROWS', max: 1000 } });
  });
});
