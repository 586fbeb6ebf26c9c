import { Dataset, DatasetPage as DatasetList } from '@backprop/contracts';
import { useState } from 'preact/hooks';
import { call, messageOf, upload } from '../api.ts';
import { previewRows } from '../csv.ts';
import { bytes } from '../format.ts';
import { ErrorAlert, useAction } from '../forms.tsx';
import { ListingPage } from '../listing.tsx';
import { href, navigate } from '../route.ts';

/** Datasets: the list, and an upload by drag and drop (or a file picker) with its progress. */
export function DatasetsPage() {
  return (
    <ListingPage
      title="Datasets"
      listTitle="Your datasets"
      load={() => call('GET', '/v1/datasets?limit=100', DatasetList)}
      empty="None yet: upload a CSV above."
      columns={[
        { header: 'Name', cell: (d) => <a href={href({ page: 'dataset', id: d.id })}>{d.name}</a> },
        { header: 'Task', cell: (d) => d.task },
        { header: 'Samples', cell: (d) => d.samples },
        { header: 'Features', cell: (d) => d.features },
        { header: 'Size', cell: (d) => bytes(d.byteSize) },
      ]}
    >
      <Upload />
    </ListingPage>
  );
}

function contentTypeOf(file: File): string {
  return file.name.toLowerCase().endsWith('.json') ? 'application/json' : 'text/csv';
}

function Upload() {
  const [file, setFile] = useState<File>();
  const [preview, setPreview] = useState<{ header: string[]; rows: string[][] }>();
  const [name, setName] = useState('');
  const [label, setLabel] = useState('label');
  const [dragging, setDragging] = useState(false);
  const [sent, setSent] = useState<{ loaded: number; total: number }>();
  const { busy, error, setError, run } = useAction();

  function choose(chosen: File | undefined) {
    setFile(chosen);
    setError(undefined);
    setSent(undefined);
    setPreview(undefined);
    if (!chosen) return;
    setName(chosen.name.replace(/\.(csv|json)$/i, ''));
    if (contentTypeOf(chosen) === 'text/csv') {
      previewRows(chosen).then(setPreview, (err: unknown) => setError(messageOf(err)));
    }
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (!file) return;
    await run(async () => {
      const query = new URLSearchParams({ ...(name ? { name } : {}) });
      if (contentTypeOf(file) === 'text/csv') query.set('label', label);
      const dataset = await upload(
        `/v1/datasets?${query}`,
        file,
        contentTypeOf(file),
        Dataset,
        (loaded, total) => setSent({ loaded, total }),
      );
      navigate({ page: 'dataset', id: dataset.id });
    });
  }

  return (
    <section aria-labelledby="upload-title" class="card">
      <h2 id="upload-title">Upload a dataset</h2>
      <form onSubmit={submit}>
        <label
          class={`drop${dragging ? ' dragging' : ''}`}
          data-testid="drop-zone"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            choose(e.dataTransfer?.files[0]);
          }}
        >
          <span>
            {file ? `${file.name} (${bytes(file.size)})` : 'Drop a CSV or JSON file here, or choose one'}
          </span>
          <input
            type="file"
            accept=".csv,.json,text/csv,application/json"
            onChange={(e) => choose(e.currentTarget.files?.[0])}
          />
        </label>
        <div class="row">
          <label>
            Name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Label column
            <input value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
          </label>
        </div>
        {preview && (
          <figure>
            <figcaption>The first rows of {file?.name}</figcaption>
            <div class="scroll">
              <table class="preview">
                <thead>
                  <tr>
                    {preview.header.map((h, i) => (
                      <th scope="col" key={i} class={h.trim() === label ? 'label-column' : undefined}>
                        {h}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {preview.rows.map((row, r) => (
                    <tr key={r}>
                      {row.map((cell, c) => (
                        <td key={c}>{cell}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </figure>
        )}
        {sent && (
          <label class="progress">
            Uploaded {bytes(sent.loaded)} of {bytes(sent.total)}
            <progress max={sent.total} value={sent.loaded} />
          </label>
        )}
        <button type="submit" disabled={!file || busy}>
          Upload
        </button>
        <ErrorAlert error={error} />
      </form>
    </section>
  );
}
