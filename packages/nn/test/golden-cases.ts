/** The numpy golden fixtures (fixtures/golden.json, written by fixtures/make_golden.py). Tests only. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayerSpec, OptimizerName } from '../src/index.ts';

export interface GoldenCase {
  name: string;
  inputSize: number;
  layers: LayerSpec[];
  options: { learningRate: number; l2?: number; optimizer?: OptimizerName; beta?: number };
  X: number[][];
  Y: number[][];
  parameters: Record<string, number[][]>;
  AL: number[][];
  cost: number;
  gradients: Record<string, number[][]>;
  afterOneUpdate: Record<string, number[][]>;
  iterations: number;
  costs: number[];
  finalParameters: Record<string, number[][]>;
}

export function loadGoldenCases(): GoldenCase[] {
  const path = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/golden.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: GoldenCase[] }).cases;
}
