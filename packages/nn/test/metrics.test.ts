/**
 * nn's evaluation metrics against the independent numpy reference (fixtures/make_metrics.py →
 * fixtures/metrics.json): every metric of every case to 1e-12, counts exactly.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  binaryMetrics,
  fromNested,
  multiclassMetrics,
  NnInputError,
  regressionMetrics,
} from '../src/index.ts';

interface MetricsCase {
  name: string;
  kind: 'binary' | 'multiclass' | 'regression';
  AL: number[][];
  actual: number[];
  maxRocPoints?: number;
  expected: Record<string, unknown>;
}

const cases = (
  JSON.parse(
    readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures/metrics.json'), 'utf8'),
  ) as { cases: MetricsCase[] }
).cases;

const TOLERANCE = 1e-12;

/**
 * Every number of `actual` within 1e-12 (relative above 1) of the reference's, counts and nulls
 * exactly; the reference's null in a threshold list stands for +Infinity. Returns the paths that
 * differ.
 */
function differences(actual: unknown, expected: unknown, path = ''): string[] {
  if (expected === null) return actual === null || actual === Number.POSITIVE_INFINITY ? [] : [path];
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return [path];
    return Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected)) ? [] : [path];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path} (length)`];
    return expected.flatMap((e, i) => differences(actual[i], e, `${path}[${i}]`));
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) return [path];
    const a = actual as Record<string, unknown>;
    return Object.entries(expected).flatMap(([key, e]) => differences(a[key], e, `${path}.${key}`));
  }
  return actual === expected ? [] : [path];
}

function computed(c: MetricsCase): Record<string, unknown> {
  const AL = fromNested(c.AL);
  if (c.kind === 'binary') {
    const metrics = binaryMetrics(AL, c.actual, c.maxRocPoints ?? 1000);
    // The reference lists which metrics are undefined; the reasons are prose.
    return { ...metrics, undefinedMetrics: Object.keys(metrics.undefinedMetrics) };
  }
  if (c.kind === 'multiclass') return { ...multiclassMetrics(AL, c.actual) };
  const metrics = regressionMetrics(AL.data, c.actual);
  return { ...metrics, undefinedMetrics: Object.keys(metrics.undefinedMetrics) };
}

describe('metrics against the numpy reference', () => {
  it('has the cases the reference promises', () => {
    const names = cases.map((c) => `${c.kind}: ${c.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'binary: many ties, some at 0.5',
        'binary: labels all 1',
        'binary: labels all 0, nothing predicted 1',
        'binary: perfect, probabilities 0 and 1',
        'binary: all wrong, probabilities 0 and 1',
        'binary: long curve thinned to 50 points',
        'multiclass: class 2 absent from the labels',
        'regression: constant targets',
      ]),
    );
  });

  it.each(cases.map((c) => [`${c.kind}: ${c.name}`, c] as const))('%s', (_, c) => {
    const mine = computed(c);
    expect(differences(mine, c.expected)).toEqual([]);
    // Every metric of the reference is checked: none is missing from the computed ones.
    expect(Object.keys(mine)).toEqual(expect.arrayContaining(Object.keys(c.expected)));
  });

  it('the comparison catches a difference of 1e-11 (negative control)', () => {
    const c = cases.find((x) => x.kind === 'binary' && x.name === 'random scores')!;
    const mine = computed(c);
    const off = { ...mine, rocAuc: (mine.rocAuc as number) + 1e-11 };
    expect(differences(off, c.expected)).toEqual(['.rocAuc']);
    const curve = mine.rocCurve as { tpr: number[] };
    const shifted = { ...mine, rocCurve: { ...curve, tpr: [...curve.tpr.slice(1), 1] } };
    expect(differences(shifted, c.expected).length).toBeGreaterThan(0);
  });
});

describe('metrics edge cases beyond the fixtures', () => {
  it('says why AUC and R² are undefined', () => {
    const single = binaryMetrics(fromNested([[0.2, 0.9]]), [1, 1], 10);
    expect(single.rocAuc).toBeNull();
    expect(single.rocCurve).toBeNull();
    expect(single.undefinedMetrics.rocAuc).toMatch(/one class only \(2 positive, 0 negative/);
    expect(regressionMetrics([1, 2], [3, 3]).undefinedMetrics.r2).toMatch(/every target is 3/);
  });

  it('thins a long curve to maxPoints, keeping both ends, and keeps the whole curve’s AUC', () => {
    const m = 500;
    const scores = Array.from({ length: m }, (_, j) => ((j * 7919) % m) / m);
    const actual = scores.map((s, j) => (s + ((j * 31) % 17) / 40 > 0.6 ? 1 : 0));
    const whole = binaryMetrics(fromNested([scores]), actual, 10_000);
    const thin = binaryMetrics(fromNested([scores]), actual, 5);
    expect(thin.rocCurve!.fpr).toHaveLength(5);
    expect(thin.rocCurve!.thresholds[0]).toBe(Number.POSITIVE_INFINITY);
    expect([thin.rocCurve!.fpr.at(-1), thin.rocCurve!.tpr.at(-1)]).toEqual([1, 1]);
    expect(whole.rocCurve!.fpr.length).toBeGreaterThan(5);
    expect(thin.rocAuc).toBe(whole.rocAuc);
  });

  it('refuses labels outside the classes and mismatched lengths, naming them', () => {
    expect(() => binaryMetrics(fromNested([[0.2, 0.9]]), [0, 2], 10)).toThrow(
      /binaryMetrics: actual\[1\] is 2 but labels must be integers 0..1/,
    );
    expect(() => multiclassMetrics(fromNested([[0.5], [0.5]]), [0, 1])).toThrow(NnInputError);
    expect(() => regressionMetrics([1], [1, 2])).toThrow(/predicted has 1 values but actual has 2/);
    expect(() => binaryMetrics(fromNested([[0.2, 0.9]]), [0, 1], 1)).toThrow(/maxRocPoints/);
  });
});
