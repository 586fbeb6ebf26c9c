/**
 * A model scored on a labelled CSV in the browser: the rows go to the model's predictions
 * endpoint in chunks, and the answers are compared with the file's labels. Used where the API
 * has no evaluations endpoint (POST /v1/models/:id/evaluations) to score a stored dataset.
 */
import { type Model, PredictResponse } from '@backprop/contracts';
import { call } from './api.ts';
import { parseLabelled } from './csv.ts';

const CHUNK = 1000;

export type Evaluation =
  | { kind: 'classification'; samples: number; accuracy: number; classes: string[]; counts: number[][] }
  | { kind: 'regression'; samples: number; mse: number; mae: number };

export async function evaluateFile(model: Model, text: string, labelColumn: string): Promise<Evaluation> {
  const { features, labels } = parseLabelled(text, labelColumn);
  if (features.length === 0) throw new Error('the file has no rows');
  const predictions = [];
  for (let start = 0; start < features.length; start += CHUNK) {
    const answer = await call('POST', `/v1/models/${model.id}/predictions`, PredictResponse, {
      samples: features.slice(start, start + CHUNK),
    });
    predictions.push(...answer.predictions);
  }
  if (model.task === 'regression') {
    let se = 0;
    let ae = 0;
    predictions.forEach((p, i) => {
      const error = ('value' in p ? p.value : Number.NaN) - Number(labels[i]);
      se += error * error;
      ae += Math.abs(error);
    });
    return { kind: 'regression', samples: labels.length, mse: se / labels.length, mae: ae / labels.length };
  }
  const classes = (model.classes ?? []).map(String);
  const indexOf = (label: string) =>
    classes.findIndex(
      (c, i) => c === label || (typeof model.classes?.[i] === 'number' && Number(label) === model.classes[i]),
    );
  const counts = classes.map(() => classes.map(() => 0));
  let right = 0;
  predictions.forEach((p, i) => {
    const truth = indexOf(labels[i]!);
    if (truth < 0)
      throw new Error(
        `line ${i + 2}: the label "${labels[i]}" is not one of the model's classes (${classes.join(', ')})`,
      );
    const predicted = 'label' in p ? indexOf(String(p.label)) : -1;
    if (predicted < 0) throw new Error(`the model answered a class it does not have for line ${i + 2}`);
    counts[truth]![predicted]! += 1;
    if (truth === predicted) right++;
  });
  return { kind: 'classification', samples: labels.length, accuracy: right / labels.length, classes, counts };
}
