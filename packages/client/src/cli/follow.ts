/**
 * Following a job until it ends: a progress bar with the cost and the ETA on a terminal (lines
 * on a schedule otherwise), or its events as JSON lines. Ctrl-C asks whether to cancel the job or
 * to detach from it (the job goes on); `onInterrupt` answers for scripts.
 */
import { createInterface } from 'node:readline/promises';
import type { JobEvent, JobStatus } from '@backprop/contracts';
import { SingleBar } from 'cli-progress';
import type { BackpropClient } from '../client.ts';

export type OnInterrupt = 'ask' | 'cancel' | 'detach';

export interface FollowOptions {
  json: boolean;
  onInterrupt: OnInterrupt;
}

export type FollowEnd =
  | { kind: 'ended'; status: JobStatus; modelId: string | null; error: string | null }
  | { kind: 'detached' };

const seconds = (ms: number | null) => (ms === null ? '-' : `${Math.round(ms / 1000)}s`);
const costText = (cost: number | null) => (cost === null ? '-' : cost.toPrecision(6));

export async function followJob(
  client: BackpropClient,
  jobId: string,
  options: FollowOptions,
): Promise<FollowEnd> {
  const detach = new AbortController();
  let cancelling = false;
  const bar = options.json
    ? null
    : new SingleBar({
        format: 'training |{bar}| {value}/{total} iterations | cost {cost} | ETA {eta_text}',
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 1000,
        hideCursor: true,
      });
  let barStarted = false;

  async function decide(): Promise<OnInterrupt> {
    if (options.onInterrupt !== 'ask') return options.onInterrupt;
    bar?.stop();
    barStarted = false;
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    // End of input (nothing will ever answer) or a second Ctrl-C detaches: the job is left
    // running, never lost.
    const closed = new Promise<string>((resolve) => prompt.once('close', () => resolve('d')));
    prompt.once('SIGINT', () => prompt.close());
    const answer = await Promise.race([
      prompt.question(`\nJob ${jobId}: [c]ancel it, or [d]etach and leave it running? `),
      closed,
    ]);
    prompt.close();
    return answer.trim().toLowerCase().startsWith('c') ? 'cancel' : 'detach';
  }

  let asking = false;
  const onSigint = () => {
    if (cancelling || asking) return;
    asking = true;
    decide()
      .then(async (choice) => {
        if (choice === 'cancel') {
          cancelling = true;
          await client.jobs.cancel(jobId);
        } else {
          detach.abort();
        }
      })
      // A refused cancel (the job ended meanwhile) is said; the stream still brings its end.
      .catch((err: unknown) => {
        cancelling = false;
        console.error(`could not cancel job ${jobId}: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => {
        asking = false;
      });
  };
  process.on('SIGINT', onSigint);

  try {
    for await (const event of client.jobs.events(jobId, { signal: detach.signal })) {
      if (options.json) console.log(JSON.stringify(event));
      else showProgress(event);
      if (event.type === 'status' && event.status !== 'queued' && event.status !== 'running') {
        return {
          kind: 'ended',
          status: event.status,
          modelId: event.modelId,
          error: event.error?.message ?? null,
        };
      }
    }
    throw new Error(`the event stream of job ${jobId} ended before the job did`);
  } catch (err) {
    if (detach.signal.aborted) return { kind: 'detached' };
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    bar?.stop();
  }

  function showProgress(event: JobEvent) {
    if (!bar || event.type !== 'progress') return;
    const payload = { cost: costText(event.cost), eta_text: seconds(event.etaMs) };
    if (!barStarted) {
      bar.start(event.iterations, event.iteration, payload);
      barStarted = true;
    } else {
      bar.setTotal(event.iterations);
      bar.update(event.iteration, payload);
    }
  }
}
