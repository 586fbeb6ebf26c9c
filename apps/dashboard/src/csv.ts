/**
 * CSV in the browser, for what the API does not return: a preview of a file's first rows before
 * it is uploaded, and the rows of a file to evaluate a model on. RFC 4180 quoting ("a,b" and
 * doubled quotes); the API's own parser (csv-parse) is the one that decides what a dataset is.
 */

/** The fields of one CSV line. */
export function parseLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** The header and up to `rows` rows from the first 64 KiB of a file. */
export async function previewRows(file: Blob, rows = 8): Promise<{ header: string[]; rows: string[][] }> {
  const text = await file.slice(0, 64 * 1024).text();
  const all = lines(text);
  // The last line may be cut by the slice: keep only whole ones.
  const whole = file.size > 64 * 1024 ? all.slice(0, -1) : all;
  const [header = '', ...rest] = whole;
  return { header: parseLine(header), rows: rest.slice(0, rows).map(parseLine) };
}

/** A labelled CSV: the features of each row (in the header's order, label left out) and the labels. */
export function parseLabelled(
  text: string,
  labelColumn: string,
): { featureNames: string[]; features: number[][]; labels: string[] } {
  const [header, ...rows] = lines(text);
  if (header === undefined) throw new Error('the file is empty');
  const names = parseLine(header).map((n) => n.trim());
  const labelAt = names.indexOf(labelColumn);
  if (labelAt < 0) throw new Error(`no column named "${labelColumn}" in the header`);
  const features: number[][] = [];
  const labels: string[] = [];
  rows.forEach((line, r) => {
    const fields = parseLine(line);
    if (fields.length !== names.length) {
      throw new Error(`line ${r + 2}: ${fields.length} fields, the header has ${names.length}`);
    }
    const row: number[] = [];
    fields.forEach((f, c) => {
      if (c === labelAt) return;
      const value = Number(f);
      if (f.trim() === '' || !Number.isFinite(value)) {
        throw new Error(`line ${r + 2}, column "${names[c]}": "${f}" is not a number`);
      }
      row.push(value);
    });
    features.push(row);
    labels.push(fields[labelAt]!.trim());
  });
  return { featureNames: names.filter((_, c) => c !== labelAt), features, labels };
}
