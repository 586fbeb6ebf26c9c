/**
 * The TypeScript math against an outside reference: fixtures written by the committed numpy
 * script fixtures/make_golden.py (forward output, cost, gradients, one update, 100 iterations of
 * cost history and the final parameters). Float64 results must match to 1e-9 relative.
 */
import { describe, expect, it } from 'vitest';
import { Network, train } from '../src/index.ts';
import { type GoldenCase, loadGoldenCases } from './golden-cases.ts';
import { expectClose } from './helpers.ts';

const cases = loadGoldenCases();

const netOf = (c: GoldenCase) =>
  Network.fromParameters({ inputSize: c.inputSize, layers: c.layers, parameters: c.parameters });

describe.each(cases)('golden fixture $name', (c) => {
  const l2 = c.options.l2 ?? 0;

  it('forward output AL', () => {
    expectClose(netOf(c).forward(c.X), c.AL, 1e-9, 'AL');
  });

  it('cost', () => {
    expectClose(netOf(c).cost(c.X, c.Y, { l2 }), c.cost, 1e-9, 'cost');
  });

  it('gradients', () => {
    const grads = netOf(c).gradients(c.X, c.Y, { l2 });
    expect(Object.keys(grads).sort()).toEqual(Object.keys(c.gradients).sort());
    for (const key of Object.keys(c.gradients)) expectClose(grads[key], c.gradients[key], 1e-9, key);
  });

  it('one update', () => {
    const net = netOf(c);
    if ((c.options.optimizer ?? 'gd') === 'gd') {
      net.step(c.X, c.Y, { learningRate: c.options.learningRate, l2 });
    } else {
      train(net, c.X, c.Y, { ...c.options, iterations: 1 });
    }
    const params = net.parameters();
    for (const key of Object.keys(c.afterOneUpdate))
      expectClose(params[key], c.afterOneUpdate[key], 1e-9, key);
  });

  it(`cost history of ${c.iterations} iterations and the final parameters`, () => {
    const net = netOf(c);
    const result = train(net, c.X, c.Y, { ...c.options, iterations: c.iterations, costEvery: 1 });
    expect(result.costIterations).toEqual(Array.from({ length: c.iterations + 1 }, (_, i) => i));
    expectClose(result.costs, c.costs, 1e-9, 'costs');
    const params = net.parameters();
    for (const key of Object.keys(c.finalParameters))
      expectClose(params[key], c.finalParameters[key], 1e-9, key);
  });
});
