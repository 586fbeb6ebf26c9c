/** The course's datasets from the repository's data/ folder, in the course's layout. Uses node: modules (tests only). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type Matrix, matrix } from '../src/index.ts';

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../../data');

export interface Dataset {
  /** (n_x, m): one column per sample, as in the course. */
  X: Matrix;
  /** (1, m) labels 0/1. */
  Y: Matrix;
}

/** Parse a `label,f1,f2,...` CSV (one row per sample) into the course's column-per-sample X and Y. */
function parseCsv(text: string, scale: number): Dataset {
  const lines = text.trimEnd().split('\n').slice(1);
  const m = lines.length;
  const nx = lines[0]!.split(',').length - 1;
  const X = new Float64Array(nx * m);
  const Y = new Float64Array(m);
  lines.forEach((line, j) => {
    const cells = line.split(',');
    Y[j] = Number(cells[0]);
    for (let i = 0; i < nx; i++) X[i * m + j] = Number(cells[i + 1]) / scale;
  });
  return { X: matrix(nx, m, X), Y: matrix(1, m, Y) };
}

/** The week 3 planar "flower" data: X (2, 400), Y (1, 400). */
export function loadPlanar(): Dataset {
  return parseCsv(readFileSync(join(DATA, 'planar_flower.csv'), 'utf8'), 1);
}

/** The cat/non-cat images, pixels / 255: train X (12288, 209), test X (12288, 50). */
export function loadCats(): { train: Dataset; test: Dataset } {
  return {
    train: parseCsv(gunzipSync(readFileSync(join(DATA, 'catvnoncat_train.csv.gz'))).toString('utf8'), 255),
    test: parseCsv(readFileSync(join(DATA, 'catvnoncat_test.csv'), 'utf8'), 255),
  };
}
