#!/usr/bin/env node
/**
 * The `backprop` command line, on @backprop/client. Exit codes: 0 done (a followed job
 * succeeded, or the command detached from it), 1 the API refused or the followed job failed, 2
 * bad usage or no login, 3 the followed job was cancelled.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ExportFormat, Job, JobStatus, Network } from '@backprop/contracts';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type FollowEnd, followJob, type OnInterrupt } from './cli/follow.ts';
import { predictionsCsv, readSamples, SampleFormat, UsageError } from './cli/samples.ts';
import { BackpropClient } from './client.ts';
import { configPath, loadConfig, saveConfig } from './config.ts';
import { BackpropError } from './errors.ts';

const EXIT = { ok: 0, refused: 1, usage: 2, cancelled: 3 } as const;

const program = new Command('backprop')
  .description('Train dense neural networks on a backprop service')
  .option('--json', 'print answers as JSON (for scripts)')
  .showHelpAfterError()
  // commander's own refusals (an unknown option, a bad argument) are usage errors: exit 2.
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 done, 1 the API refused or the job failed, 2 bad usage or not logged in, 3 the job was cancelled.',
  );

const json = () => program.opts<{ json?: boolean }>().json === true;
const print = (value: unknown, human: () => string) => console.log(json() ? JSON.stringify(value) : human());

async function client(): Promise<BackpropClient> {
  const config = await loadConfig();
  if (!config) {
    throw new UsageError(
      'not logged in: run `backprop login --url <url> --key <key>` (or set BACKPROP_URL and BACKPROP_API_KEY)',
    );
  }
  return new BackpropClient(config);
}

/** commander argument parsers that name the option and the reason. */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}
/** `units:activation`, e.g. 20:relu; repeated, in order. */
function layer(value: string, previous: { units: number; activation: string }[] = []) {
  const match = /^(\d+):([a-z_]+)$/.exec(value);
  if (!match?.[1] || !match[2]) throw new InvalidArgumentError('expected units:activation, e.g. 20:relu');
  return [...previous, { units: Number(match[1]), activation: match[2] }];
}
/** A JSON object given inline or as @file. */
async function jsonObject(value: string, what: string): Promise<Record<string, unknown>> {
  const body = value.startsWith('@') ? await readFile(value.slice(1), 'utf8') : value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UsageError(`${what}: not JSON (give an object inline, or @file)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${what}: expected a JSON object`);
  }
  return Object.fromEntries(Object.entries(parsed));
}

/** Prints how a followed job ended and sets the exit code by it. */
function reportEnd(jobId: string, end: FollowEnd) {
  if (end.kind === 'detached') {
    console.error(`detached: job ${jobId} goes on; follow it with \`backprop jobs watch ${jobId}\``);
    return;
  }
  if (!json()) {
    console.log(`status ${end.status}${end.modelId ? ` model ${end.modelId}` : ''}`);
    if (end.error) console.error(end.error);
  }
  process.exitCode =
    end.status === 'succeeded' ? EXIT.ok : end.status === 'cancelled' ? EXIT.cancelled : EXIT.refused;
}

const interruptOption = new Option(
  '--on-interrupt <choice>',
  'what Ctrl-C does: ask, cancel the job, or detach',
)
  .choices(['ask', 'cancel', 'detach'])
  .default('ask');

program
  .command('login')
  .description(`save the API URL and key in ${configPath()} (mode 0600)`)
  .requiredOption('--url <url>', 'the API base URL, e.g. http://localhost:3000')
  .requiredOption('--key <key>', 'an API key (npm run keys)')
  .action(async ({ url, key }: { url: string; key: string }) => {
    const api = new BackpropClient({ baseUrl: url, apiKey: key });
    await api.jobs.list({ limit: 1 }); // the key works before it is saved
    await saveConfig({ baseUrl: url, apiKey: key });
    print({ saved: configPath() }, () => `saved to ${configPath()}`);
  });

const datasets = program.command('datasets').description('datasets');
datasets
  .command('upload <file>')
  .description('upload a CSV file (gzip too: detected by its bytes)')
  .option('--name <name>', 'dataset name')
  .option('--label <column>', 'the label column', 'label')
  .addOption(new Option('--task <task>', 'what the labels are').choices(['classification', 'regression']))
  .action(
    async (
      file: string,
      options: { name?: string; label: string; task?: 'classification' | 'regression' },
    ) => {
      const dataset = await (await client()).datasets.upload(await readFile(file), options);
      print(dataset, () => `${dataset.id}  ${dataset.samples} samples, ${dataset.features} features`);
    },
  );
datasets
  .command('list')
  .option('--limit <n>', 'how many', positiveInteger, 20)
  .action(async (options: { limit: number }) => {
    const page = await (await client()).datasets.list({ limit: options.limit });
    print(page, () => page.items.map((d) => `${d.id}  ${d.name}  ${d.samples}×${d.features}`).join('\n'));
  });

const networks = program.command('networks').description('network definitions');
networks
  .command('create')
  .description('define a network: --input 12288 --layer 20:relu --layer 7:relu --layer 1:sigmoid')
  .option('--input <n>', 'features per sample, n[0]', positiveInteger)
  .option('--layer <units:activation>', 'a layer, hidden ones first and the output last (repeat)', layer)
  .addOption(new Option('--init <init>', 'weight initialisation').choices(['random', 'xavier', 'he']))
  .option('--name <name>', 'network name')
  .option('--file <json>', 'the whole definition as a JSON file (POST /v1/networks body)')
  .action(
    async (options: {
      input?: number;
      layer?: { units: number; activation: string }[];
      init?: 'random' | 'xavier' | 'he';
      name?: string;
      file?: string;
    }) => {
      const api = await client();
      const definition = options.file
        ? await jsonObject(`@${options.file}`, '--file')
        : { inputSize: options.input, layers: options.layer, init: options.init, name: options.name };
      if (!options.file && (options.input === undefined || !options.layer)) {
        throw new UsageError('give --input and at least one --layer (or --file)');
      }
      // The API checks the definition and names what is wrong (activations, sizes, limits).
      const network = await api.raw('/networks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(definition),
      });
      const created = Network.parse(await network.json());
      print(created, () => {
        const shape = [created.inputSize, ...created.layers.map((l) => `${l.units} ${l.activation}`)];
        return `${created.id}  ${shape.join(' → ')}`;
      });
    },
  );

program
  .command('train')
  .description('start a training job and follow it with a progress bar (Ctrl-C: cancel or detach)')
  .requiredOption('--dataset <id>', 'the dataset')
  .requiredOption('--network <id>', 'the network')
  .option('--learning-rate <rate>', 'gradient descent step', finiteNumber)
  .option('--iterations <n>', 'full-batch updates', positiveInteger)
  .option('--epochs <n>', 'passes over the data (with --batch-size)', positiveInteger)
  .option('--batch-size <n>', 'samples per update', positiveInteger)
  .option('--options <json>', 'any other training options as JSON, inline or @file (flags win)')
  .option('--detach', 'start the job and return at once')
  .addOption(interruptOption)
  .action(
    async (options: {
      dataset: string;
      network: string;
      learningRate?: number;
      iterations?: number;
      epochs?: number;
      batchSize?: number;
      options?: string;
      detach?: boolean;
      onInterrupt: OnInterrupt;
    }) => {
      const api = await client();
      const extra = options.options ? await jsonObject(options.options, '--options') : {};
      const flags = {
        learningRate: options.learningRate,
        iterations: options.iterations,
        epochs: options.epochs,
        batchSize: options.batchSize,
      };
      const training = {
        ...extra,
        ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)),
      };
      const response = await api.raw('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({ datasetId: options.dataset, networkId: options.network, training }),
      });
      const job = Job.parse(await response.json());
      if (json()) console.log(JSON.stringify(job));
      else console.error(`job ${job.id} queued`);
      if (options.detach) return;
      reportEnd(job.id, await followJob(api, job.id, { json: json(), onInterrupt: options.onInterrupt }));
    },
  );

const jobs = program.command('jobs').description('training jobs');
jobs
  .command('list')
  .addOption(new Option('--status <status>', 'only jobs in this status').choices(JobStatus.options))
  .option('--limit <n>', 'how many', positiveInteger, 20)
  .action(async (options: { status?: JobStatus; limit: number }) => {
    const page = await (await client()).jobs.list({ status: options.status, limit: options.limit });
    print(page, () =>
      page.items
        .map((job) => `${job.id}  ${job.status}  ${job.progress.iteration}/${job.progress.iterations}`)
        .join('\n'),
    );
  });
jobs
  .command('watch <id>')
  .description('follow a job until it ends (a progress bar; its events as JSON lines with --json)')
  .addOption(interruptOption)
  .action(async (id: string, options: { onInterrupt: OnInterrupt }) => {
    reportEnd(id, await followJob(await client(), id, { json: json(), onInterrupt: options.onInterrupt }));
  });
jobs
  .command('cancel <id>')
  .description('cancel a queued or running job')
  .action(async (id: string) => {
    const job = await (await client()).jobs.cancel(id);
    print(job, () => `${job.id}  ${job.status}`);
  });

program
  .command('predict <modelId> [samples]')
  .description(
    'predict for samples: a CSV or JSON file, - for standard input, or inline JSON such as "[[0.1,0.2]]"',
  )
  .addOption(
    new Option('--input-format <format>', 'how to read the samples (default: by file extension)').choices(
      SampleFormat.options,
    ),
  )
  .addOption(
    new Option('--format <format>', 'how to print the predictions (json with --json)')
      .choices(SampleFormat.options)
      .default('csv'),
  )
  .action(
    async (
      modelId: string,
      source: string | undefined,
      options: { inputFormat?: SampleFormat; format: SampleFormat },
    ) => {
      const samples = await readSamples(source ?? '-', options.inputFormat);
      if (samples.length === 0) throw new UsageError('no samples to predict');
      const answer = await (await client()).models.predict(modelId, samples);
      if (json() || options.format === 'json') console.log(JSON.stringify(answer));
      else process.stdout.write(predictionsCsv(answer));
    },
  );

program
  .command('export <modelId>')
  .description('download a model as backprop JSON, a standalone JavaScript module, or ONNX')
  .addOption(new Option('--format <format>', 'the file format').choices(ExportFormat.options).default('onnx'))
  .option('-o, --output <file>', 'where to write it (- for standard output)')
  .action(async (modelId: string, options: { format: ExportFormat; output?: string }) => {
    const bytes = await (await client()).models.export(modelId, options.format);
    const extension = { json: 'json', js: 'mjs', onnx: 'onnx' }[options.format];
    const file = options.output ?? `${modelId}.${extension}`;
    if (file === '-') process.stdout.write(bytes);
    else {
      await writeFile(file, bytes);
      print({ file, bytes: bytes.length }, () => `wrote ${file} (${bytes.length} bytes)`);
    }
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  if (err instanceof BackpropError) {
    console.error(
      json()
        ? JSON.stringify({ status: err.status, code: err.code, message: err.message, details: err.details })
        : `${err.code}: ${err.message}`,
    );
    process.exit(EXIT.refused);
  }
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(EXIT.usage);
}
