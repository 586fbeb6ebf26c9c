/**
 * The dashboard's pure parts: the CSV preview and the labelled-CSV reader (what the browser reads
 * before an upload and for an evaluation), and the job form's fields, which must offer every
 * training option the API takes, with the defaults the API applies.
 */
import { Training } from '@backprop/contracts';
import { describe, expect, it } from 'vitest';
import { parseLabelled, parseLine, previewRows } from '../src/csv.ts';
import { optionFields, trainingBody } from '../src/training-options.ts';

describe('CSV in the browser', () => {
  it('splits a line with quoted fields, commas and doubled quotes inside them', () => {
    expect(parseLine('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
  });

  it('previews the header and the first rows, leaving out a line the 64 KiB cut', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i % 2},${i}.5,${-i}`);
    const small = await previewRows(new Blob([`label,x1,x2\n${rows.join('\n')}\n`]), 3);
    expect(small).toEqual({
      header: ['label', 'x1', 'x2'],
      rows: [
        ['0', '0.5', '0'],
        ['1', '1.5', '-1'],
        ['0', '2.5', '-2'],
      ],
    });

    const line = `1,${'9'.repeat(98)}`; // 100 bytes: the 64 KiB cut falls inside a line
    const big = await previewRows(new Blob([`label,x\n${`${line}\n`.repeat(1000)}`]), 1000);
    expect(big.header).toEqual(['label', 'x']);
    expect(big.rows.length).toBeGreaterThan(600);
    for (const row of big.rows) expect(row).toEqual(['1', '9'.repeat(98)]);
  });

  it('reads features and labels, the label column left out wherever it is', () => {
    expect(parseLabelled('x1,label,x2\n1,a,2\n3,b,4\n', 'label')).toEqual({
      featureNames: ['x1', 'x2'],
      features: [
        [1, 2],
        [3, 4],
      ],
      labels: ['a', 'b'],
    });
  });

  it('names the line and column of what it cannot read', () => {
    expect(() => parseLabelled('x,label\n1,0\nz,1\n', 'label')).toThrow(
      'line 3, column "x": "z" is not a number',
    );
    expect(() => parseLabelled('x,label\n1,0,5\n', 'label')).toThrow('line 2: 3 fields, the header has 2');
    expect(() => parseLabelled('x,y\n1,0\n', 'label')).toThrow('no column named "label"');
  });
});

describe('the job form', () => {
  const fields = optionFields();
  const byName = new Map(fields.map((f) => [f.name, f]));

  it('offers every training option the API takes', () => {
    expect(fields.map((f) => f.name).sort()).toEqual(Object.keys(Training.shape).sort());
  });

  it('shows the defaults the API applies and what is required', () => {
    const applied = Training.parse({ learningRate: 0.1, iterations: 10 });
    for (const name of ['optimizer', 'normalize', 'l2', 'validationSplit'] as const) {
      expect(byName.get(name)?.default, name).toBe(String(applied[name]));
    }
    expect(byName.get('learningRate')).toMatchObject({ required: true, kind: 'number', max: 1000 });
    expect(byName.get('optimizer')?.choices).toEqual(['gd', 'momentum', 'adam']);
    expect(fields.every((f) => f.description !== '')).toBe(true);
  });

  it('sends what was filled in, as the API reads it, and leaves the rest to the defaults', () => {
    const body = trainingBody({
      learningRate: '0.5',
      iterations: ' 100 ',
      optimizer: 'adam',
      beta1: '',
      validationSplit: '0.2',
      earlyStopping: '3',
    });
    expect(body).toEqual({
      learningRate: 0.5,
      iterations: 100,
      optimizer: 'adam',
      validationSplit: 0.2,
      earlyStopping: { patience: 3 },
    });
    expect(Training.safeParse(body).success).toBe(true);
  });
});
