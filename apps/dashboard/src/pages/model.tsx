import { Dataset, DatasetPage as DatasetList, Job, Model, PredictResponse } from '@backprop/contracts';
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { z } from 'zod';
import { ApiFailure, call, messageOf } from '../api.ts';
import { ConfusionMatrix } from '../components/confusion-matrix.tsx';
import { type Evaluation, evaluateFile } from '../evaluate.ts';
import { fixed, percent, when } from '../format.ts';
import { ErrorAlert, useAction } from '../forms.tsx';
import { href } from '../route.ts';
import { useResource } from '../use-resource.ts';

/** One model: its metrics, an evaluation with a confusion matrix, and a predict form. */
export function ModelPage({ id }: { id: string }) {
  const model = useResource(() => call('GET', `/v1/models/${id}`, Model), [id]);
  const dataset = useResource(async () => {
    if (!model.data) return undefined;
    const job = await call('GET', `/v1/jobs/${model.data.jobId}`, Job);
    return call('GET', `/v1/datasets/${job.datasetId}`, Dataset);
  }, [model.data]);
  if (model.error) return <ErrorAlert error={model.error} />;
  const m = model.data;
  if (!m) return <p>Loading…</p>;
  const metrics = m.metrics;
  return (
    <>
      <h1>
        Model <code>{m.id.slice(0, 8)}</code>
      </h1>
      <p>
        {m.task} · {m.inputSize} → {m.layers.map((l) => `${l.units} ${l.activation}`).join(' → ')} · made by{' '}
        <a href={href({ page: 'job', id: m.jobId })}>job {m.jobId.slice(0, 8)}</a> on {when(m.createdAt)}
      </p>
      <h2>Metrics</h2>
      <dl class="facts metrics" data-testid="model-metrics">
        {metrics.trainAccuracy !== undefined && (
          <>
            <dt>Training accuracy</dt>
            <dd data-testid="train-accuracy">{percent(metrics.trainAccuracy)}</dd>
          </>
        )}
        {metrics.validationAccuracy !== undefined && (
          <>
            <dt>Validation accuracy</dt>
            <dd>{percent(metrics.validationAccuracy)}</dd>
          </>
        )}
        {metrics.trainMse !== undefined && (
          <>
            <dt>Training MSE</dt>
            <dd>{fixed(metrics.trainMse)}</dd>
          </>
        )}
        {metrics.validationMse !== undefined && (
          <>
            <dt>Validation MSE</dt>
            <dd>{fixed(metrics.validationMse)}</dd>
          </>
        )}
        <dt>Final cost</dt>
        <dd>{fixed(metrics.finalCost)}</dd>
        {metrics.validationCost !== undefined && (
          <>
            <dt>Best validation cost</dt>
            <dd>{fixed(metrics.validationCost)}</dd>
          </>
        )}
        <dt>Updates</dt>
        <dd>{metrics.iterations}</dd>
      </dl>
      <Evaluate model={m} labelName={dataset.data?.labelName ?? 'label'} />
      <Predict model={m} dataset={dataset.data} />
    </>
  );
}

/**
 * An evaluation stored by the API (POST /v1/models/:id/evaluations), as far as this page reads
 * it: the numeric metrics and the confusion matrix ({ labels, counts }, classification only).
 */
const StoredEvaluation = z.looseObject({
  samples: z.number().optional(),
  metrics: z.looseObject({
    confusionMatrix: z
      .object({ labels: z.array(z.union([z.string(), z.number()])), counts: z.array(z.array(z.number())) })
      .optional(),
  }),
});

function Evaluate({ model, labelName }: { model: Model; labelName: string }) {
  const datasets = useResource(() => call('GET', '/v1/datasets?limit=100', DatasetList), []);
  const [result, setResult] = useState<Evaluation>();
  const [stored, setStored] = useState<z.infer<typeof StoredEvaluation>>();
  const { busy, error, run } = useAction();
  const [label, setLabel] = useState<string>();
  const column = label ?? labelName;

  const [chosen, setChosen] = useState('');
  const candidates = datasets.data?.items.filter((d) => d.features === model.inputSize) ?? [];
  const datasetId = chosen || candidates[0]?.id || '';

  async function onDataset(event: Event) {
    event.preventDefault();
    await run(
      async () => {
        setStored(await call('POST', `/v1/models/${model.id}/evaluations`, StoredEvaluation, { datasetId }));
      },
      (err) =>
        err instanceof ApiFailure && err.routeMissing
          ? 'This API does not evaluate stored datasets yet: evaluate a CSV file instead.'
          : messageOf(err),
    );
  }

  async function onFile(file: File | undefined) {
    if (!file) return;
    await run(async () => {
      setResult(await evaluateFile(model, await file.text(), column));
    });
  }

  return (
    <section class="card" aria-labelledby="evaluate-title">
      <h2 id="evaluate-title">Evaluate</h2>
      <div class="row">
        <form onSubmit={onDataset}>
          <label>
            A stored dataset
            <select value={datasetId} onChange={(e) => setChosen(e.currentTarget.value)}>
              {candidates.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.samples} samples)
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy || !datasetId}>
            Evaluate
          </button>
        </form>
        <div>
          <label>
            Or a labelled CSV file (scored here, through predictions)
            <input
              type="file"
              accept=".csv,text/csv"
              data-testid="evaluate-file"
              onChange={(e) => onFile(e.currentTarget.files?.[0])}
            />
          </label>
          <label>
            Label column
            <input value={column} onInput={(e) => setLabel(e.currentTarget.value)} />
          </label>
        </div>
      </div>
      {busy && <p>Evaluating…</p>}
      <ErrorAlert error={error} />
      {result?.kind === 'classification' && (
        <div data-testid="file-evaluation">
          <h3>The file</h3>
          <p data-testid="evaluation-accuracy">
            Accuracy on {result.samples} samples: <strong>{percent(result.accuracy)}</strong>
          </p>
          <ConfusionMatrix classes={result.classes} counts={result.counts} />
        </div>
      )}
      {result?.kind === 'regression' && (
        <p data-testid="evaluation-mse">
          On {result.samples} samples: MSE {fixed(result.mse)}, MAE {fixed(result.mae)}
        </p>
      )}
      {stored && (
        <div data-testid="stored-evaluation">
          <h3>The stored dataset{stored.samples === undefined ? '' : ` (${stored.samples} samples)`}</h3>
          <dl class="facts">
            {Object.entries(stored.metrics)
              .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
              .map(([name, value]) => (
                <Fragment key={name}>
                  <dt>{name}</dt>
                  <dd>{fixed(value)}</dd>
                </Fragment>
              ))}
          </dl>
          {stored.metrics.confusionMatrix && (
            <ConfusionMatrix
              classes={stored.metrics.confusionMatrix.labels.map(String)}
              counts={stored.metrics.confusionMatrix.counts}
            />
          )}
        </div>
      )}
    </section>
  );
}

function Predict({ model, dataset }: { model: Model; dataset: Dataset | undefined }) {
  const names = Array.from(
    { length: model.inputSize },
    (_, j) => dataset?.featureStats[j]?.name ?? `x${j + 1}`,
  );
  const [values, setValues] = useState<Record<number, string>>({});
  const [answer, setAnswer] = useState<z.infer<typeof PredictResponse>['predictions'][number]>();
  const { error, run } = useAction();
  const shown = model.inputSize <= 50;

  async function submit(event: Event) {
    event.preventDefault();
    const sample = names.map((_, j) => Number(values[j]));
    await run(async () => {
      const res = await call('POST', `/v1/models/${model.id}/predictions`, PredictResponse, {
        samples: [sample],
      });
      setAnswer(res.predictions[0]);
    });
  }

  return (
    <section class="card" aria-labelledby="predict-title">
      <h2 id="predict-title">Predict</h2>
      {!shown && (
        <p>
          This model takes {model.inputSize} features: use POST /v1/models/{model.id}/predictions.
        </p>
      )}
      {shown && (
        <form onSubmit={submit}>
          <p class="help">One sample in the dataset's raw units (the model applies its own normalisation).</p>
          <div class="row">
            {names.map((name, j) => (
              <label key={name}>
                {name}
                <input
                  type="number"
                  step="any"
                  required
                  placeholder={fixed(dataset?.featureStats[j]?.mean ?? 0)}
                  value={values[j] ?? ''}
                  onInput={(e) => setValues((vs) => ({ ...vs, [j]: e.currentTarget.value }))}
                />
              </label>
            ))}
          </div>
          <button type="submit">Predict</button>
        </form>
      )}
      <ErrorAlert error={error} />
      {answer && 'label' in answer && (
        <div data-testid="prediction">
          <p>
            Predicted class: <strong>{String(answer.label)}</strong>
          </p>
          <ul>
            {answer.probabilities.map((p, i) => (
              <li key={i}>
                {String(model.classes?.[i] ?? i)}: {percent(p)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {answer && 'value' in answer && (
        <p data-testid="prediction">
          Predicted value: <strong>{fixed(answer.value)}</strong>
        </p>
      )}
    </section>
  );
}
