#!/usr/bin/env node
/**
 * The `backprop` command line, on @backprop/client. Exit codes: 0 done, 1 the API refused
 * (BackpropError), 2 bad usage or no login.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { BackpropClient } from './client.ts';
import { configPath, loadConfig, saveConfig } from './config.ts';
import { BackpropError } from './errors.ts';

const program = new Command('backprop')
  .description('Train dense neural networks on a backprop service')
  .option('--json', 'print answers as JSON (for scripts)');

const json = () => program.opts<{ json?: boolean }>().json === true;
const print = (value: unknown, human: () => string) => console.log(json() ? JSON.stringify(value) : human());

async function client(): Promise<BackpropClient> {
  const config = await loadConfig();
  if (!config) {
    console.error(
      'not logged in: run `backprop login --url <url> --key <key>` (or set BACKPROP_URL and BACKPROP_API_KEY)',
    );
    process.exit(2);
  }
  return new BackpropClient(config);
}

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
  .action(async (file: string, options: { name?: string; label: string }) => {
    const dataset = await (await client()).datasets.upload(await readFile(file), options);
    print(dataset, () => `${dataset.id}  ${dataset.samples} samples, ${dataset.features} features`);
  });

const jobs = program.command('jobs').description('training jobs');
jobs
  .command('list')
  .option('--status <status>', 'only jobs in this status')
  .option('--limit <n>', 'how many', '20')
  .action(async (options: { status?: string; limit: string }) => {
    const status = z
      .enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
      .optional()
      .parse(options.status);
    const page = await (await client()).jobs.list({ status, limit: Number(options.limit) });
    print(page, () =>
      page.items
        .map((job) => `${job.id}  ${job.status}  ${job.progress.iteration}/${job.progress.iterations}`)
        .join('\n'),
    );
  });
jobs
  .command('watch <id>')
  .description("follow a job's events until it ends")
  .action(async (id: string) => {
    for await (const event of (await client()).jobs.events(id)) {
      if (json()) console.log(JSON.stringify(event));
      else if (event.type === 'status')
        console.log(`status ${event.status}${event.modelId ? ` model ${event.modelId}` : ''}`);
      else if (event.type === 'progress')
        console.log(`iteration ${event.iteration}/${event.iterations}  cost ${event.cost ?? '-'}`);
    }
  });
jobs.command('cancel <id>').action(async (id: string) => {
  const job = await (await client()).jobs.cancel(id);
  print(job, () => `${job.id}  ${job.status}`);
});

program
  .command('predict <modelId> <samples>')
  .description('predict for samples given as JSON, e.g. "[[0.1,0.2]]"')
  .action(async (modelId: string, samples: string) => {
    const rows = z.array(z.array(z.number())).min(1).parse(JSON.parse(samples));
    const answer = await (await client()).models.predict(modelId, rows);
    print(answer, () =>
      answer.predictions.map((p) => ('label' in p ? String(p.label) : String(p.value))).join('\n'),
    );
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof BackpropError) {
    console.error(
      json()
        ? JSON.stringify({ status: err.status, code: err.code, message: err.message, details: err.details })
        : `${err.code}: ${err.message}`,
    );
    process.exit(1);
  }
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
