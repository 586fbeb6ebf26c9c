import {
  CreateNetwork,
  DatasetPage as DatasetList,
  HIDDEN_ACTIVATIONS,
  Init,
  Layer,
  Network,
  NetworkPage as NetworkList,
  OUTPUT_ACTIVATIONS,
  parameterCount,
} from '@backprop/contracts';
import { useState } from 'preact/hooks';
import { call } from '../api.ts';
import { ErrorAlert, useAction } from '../forms.tsx';
import { ListingPage } from '../listing.tsx';
import { navigate } from '../route.ts';
import { useResource } from '../use-resource.ts';

/** Networks: the list, and a layer builder checked with the same schema the API uses. */
export function NetworksPage() {
  return (
    <ListingPage
      title="Networks"
      listTitle="Your networks"
      load={() => call('GET', '/v1/networks?limit=100', NetworkList)}
      empty="None yet."
      columns={[
        { header: 'Name', cell: (n) => n.name },
        {
          header: 'Layers',
          cell: (n) => `${n.inputSize} → ${n.layers.map((l) => `${l.units} ${l.activation}`).join(' → ')}`,
        },
        { header: 'Init', cell: (n) => n.init },
        { header: 'Parameters', cell: (n) => n.parameterCount },
      ]}
    >
      <Builder />
    </ListingPage>
  );
}

function Builder() {
  const datasets = useResource(() => call('GET', '/v1/datasets?limit=100', DatasetList), []);
  const [name, setName] = useState('');
  const [inputSize, setInputSize] = useState('');
  const [layers, setLayers] = useState<Layer[]>([
    { units: 4, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ]);
  const [init, setInit] = useState<Init | ''>('');
  const { error, run } = useAction();

  function fromDataset(id: string) {
    const d = datasets.data?.items.find((x) => x.id === id);
    if (!d) return;
    setInputSize(String(d.features));
    if (!name) setName(`${d.name} net`);
    const output: Layer =
      d.task === 'binary'
        ? { units: 1, activation: 'sigmoid' }
        : d.task === 'multiclass'
          ? { units: d.classes?.length ?? 2, activation: 'softmax' }
          : { units: 1, activation: 'linear' };
    setLayers((ls) => [...ls.slice(0, -1), output]);
  }

  function update(i: number, change: Partial<Layer>) {
    setLayers((ls) =>
      ls.map((l, j) => {
        if (j !== i) return l;
        const next = { ...l, ...change };
        if (next.activation !== 'leaky_relu') delete next.slope;
        return next;
      }),
    );
  }

  const body = { ...(name ? { name } : {}), inputSize: Number(inputSize), layers, ...(init ? { init } : {}) };
  const checked = CreateNetwork.safeParse(body);
  const problem =
    inputSize === '' ? 'give the input size' : checked.success ? undefined : checked.error.issues[0];

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      await call('POST', '/v1/networks', Network, body);
      navigate({ page: 'jobs' });
    });
  }

  return (
    <section class="card" aria-labelledby="builder-title">
      <h2 id="builder-title">Define a network</h2>
      <form onSubmit={submit}>
        <div class="row">
          <label>
            For dataset
            <select onChange={(e) => fromDataset(e.currentTarget.value)}>
              <option value="">(fill in by hand)</option>
              {datasets.data?.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.features} features, {d.task})
                </option>
              ))}
            </select>
          </label>
          <label>
            Name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Input size
            <input
              type="number"
              min={1}
              required
              value={inputSize}
              onInput={(e) => setInputSize(e.currentTarget.value)}
            />
          </label>
          <label>
            Initialisation
            <select value={init} onChange={(e) => setInit(initOf(e.currentTarget.value))}>
              <option value="">default (from the activations)</option>
              {Init.options.map((i) => (
                <option key={i}>{i}</option>
              ))}
            </select>
          </label>
        </div>
        <ol class="layers">
          {layers.map((layer, i) => {
            const isOutput = i === layers.length - 1;
            const choices: readonly string[] = isOutput ? OUTPUT_ACTIVATIONS : HIDDEN_ACTIVATIONS;
            return (
              <li key={i} data-testid="layer">
                <span class="layer-name">{isOutput ? 'Output layer' : `Hidden layer ${i + 1}`}</span>
                <label>
                  Units
                  <input
                    type="number"
                    min={1}
                    value={layer.units}
                    onInput={(e) => update(i, { units: Number(e.currentTarget.value) })}
                  />
                </label>
                <label>
                  Activation
                  <select
                    value={layer.activation}
                    onChange={(e) => update(i, { activation: activationOf(e.currentTarget.value) })}
                  >
                    {choices.map((a) => (
                      <option key={a}>{a}</option>
                    ))}
                  </select>
                </label>
                {layer.activation === 'leaky_relu' && (
                  <label>
                    Slope
                    <input
                      type="number"
                      step="any"
                      placeholder="0.01"
                      value={layer.slope ?? ''}
                      onInput={(e) =>
                        update(
                          i,
                          e.currentTarget.value === '' ? {} : { slope: Number(e.currentTarget.value) },
                        )
                      }
                    />
                  </label>
                )}
                {!isOutput && (
                  <button
                    type="button"
                    class="link"
                    onClick={() => setLayers((ls) => ls.filter((_, j) => j !== i))}
                  >
                    Remove
                  </button>
                )}
              </li>
            );
          })}
        </ol>
        <p>
          <button
            type="button"
            class="secondary"
            onClick={() =>
              setLayers((ls) => [...ls.slice(0, -1), { units: 4, activation: 'relu' }, ls.at(-1)!])
            }
          >
            Add a hidden layer
          </button>
        </p>
        <p data-testid="network-summary">
          {inputSize || '?'} → {layers.map((l) => l.units).join(' → ')}:{' '}
          {inputSize ? `${parameterCount(Number(inputSize), layers)} parameters` : ''}
        </p>
        {problem && typeof problem !== 'string' && (
          <p class="error">
            {problem.path.join('.')}: {problem.message}
          </p>
        )}
        <button type="submit" disabled={problem !== undefined}>
          Create network
        </button>
        <ErrorAlert error={error} />
      </form>
    </section>
  );
}

function activationOf(value: string): Layer['activation'] {
  const parsed = Layer.shape.activation.safeParse(value);
  return parsed.success ? parsed.data : 'relu';
}

function initOf(value: string): Init | '' {
  const parsed = Init.safeParse(value);
  return parsed.success ? parsed.data : '';
}
