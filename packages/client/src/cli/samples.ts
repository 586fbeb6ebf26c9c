/**
 * The samples `backprop predict` reads (CSV or JSON, from a file, standard input or the command
 * line) and the predictions it writes (CSV or JSON).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { text } from 'node:stream/consumers';
import type { PredictResponse } from '@backprop/contracts';

import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { z } from 'zod';

export const SampleFormat = z.enum(['csv', 'json']);
export type SampleFormat = z.infer<typeof SampleFormat>;

export class UsageError extends Error {}

/**
 * Where samples come from: `-` is standard input, text starting with `[` or `{` is the samples
 * themselves, anything else a file. The format is `format` if given, else the file's extension,
 * else JSON for inline text and CSV for standard input.
 */
export async function readSamples(source: string, format?: SampleFormat): Promise<number[][]> {
  const inline = /^\s*[[{]/.test(source);
  const body = source === '-' ? await text(process.stdin) : inline ? source : await readFile(source, 'utf8');
  const extension = extname(source).slice(1).toLowerCase();
  const chosen = format ?? (inline ? 'json' : extension === 'json' ? 'json' : 'csv');
  return chosen === 'json' ? samplesFromJson(body) : samplesFromCsv(body);
}

const JsonSamples = z.union([
  z.array(z.array(z.number())),
  z.object({ samples: z.array(z.array(z.number())) }).transform((body) => body.samples),
]);

function samplesFromJson(body: string): number[][] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new UsageError(`the samples are not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = JsonSamples.safeParse(value);
  if (!parsed.success) {
    throw new UsageError('JSON samples are [[x1, x2, ...], ...] or { "samples": [[...], ...] }');
  }
  return parsed.data;
}

/** CSV rows of numbers; a first row that is not all numbers is a header and is skipped. */
function samplesFromCsv(body: string): number[][] {
  const rows: string[][] = parseCsv(body, { skip_empty_lines: true, trim: true });
  const isNumber = (cell: string) => cell !== '' && Number.isFinite(Number(cell));
  const data = rows.length > 0 && !rows[0]?.every(isNumber) ? rows.slice(1) : rows;
  return data.map((row, i) =>
    row.map((cell, j) => {
      if (!isNumber(cell))
        throw new UsageError(`CSV row ${i + 1}, column ${j + 1}: "${cell}" is not a number`);
      return Number(cell);
    }),
  );
}

/** Predictions as CSV: `label,p0,p1,...` for classification (the class probabilities), `value` for regression. */
export function predictionsCsv(answer: PredictResponse): string {
  const rows = answer.predictions.map((p) => ('label' in p ? [p.label, ...p.probabilities] : [p.value]));
  const first = answer.predictions[0];
  const header =
    first === undefined || !('label' in first)
      ? ['value']
      : ['label', ...first.probabilities.map((_, k) => `p${k}`)];
  return stringifyCsv([header, ...rows]);
}
