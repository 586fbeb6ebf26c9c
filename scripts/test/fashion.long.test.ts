/**
 * The README's Fashion-MNIST recipe, shortened so CI runs it on every change: the first 6,000
 * training images and 2,000 test images, uploaded as IDX files through the real API (its own
 * process, as `npm start` runs it) and trained by a real worker for 3 epochs, then evaluated.
 * The full recipe (60,000 images, 10 epochs: at least 0.8833) is `npm run bench:fashion`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PrivateService } from '../../harness/stack.ts';
import {
  call,
  fashionFiles,
  getJob,
  startFashionService,
  startTraining,
  trainAndEvaluate,
  uploadIdx,
} from '../fashion/recipe.ts';

const TRAIN_SAMPLES = 6000;
const TEST_SAMPLES = 2000;
const EPOCHS = 3;
/** What this subset reaches with room to spare (0.83–0.84 measured); the full set's floor is 0.8833. */
const SUBSET_FLOOR = 0.8;

let service: PrivateService;
let trainId: string;
beforeAll(async () => {
  service = await startFashionService();
}, 600_000); // private servers and two processes: minutes on a loaded machine
afterAll(async () => {
  await service?.close();
});

it(`Fashion-MNIST through the service: ${TRAIN_SAMPLES} images, ${EPOCHS} epochs, at least ${SUBSET_FLOOR} on ${TEST_SAMPLES} test images`, async () => {
  const client = { url: service.api.url, apiKey: service.space.apiKey };
  const train = await uploadIdx(client, 'fashion-train', fashionFiles('train', TRAIN_SAMPLES));
  trainId = train.id;
  const test = await uploadIdx(client, 'fashion-test', fashionFiles('t10k', TEST_SAMPLES));
  const datasets = await service.space.db.dataset.findMany({
    select: { id: true, samples: true, byteSize: true },
  });
  // one byte a pixel, eight a label
  expect(datasets.find((d) => d.id === train.id)).toMatchObject({
    samples: TRAIN_SAMPLES,
    byteSize: TRAIN_SAMPLES * (784 + 8),
  });
  const result = await trainAndEvaluate(client, { trainId: train.id, testId: test.id }, EPOCHS);
  console.log(
    `fashion subset: upload ${train.seconds.toFixed(1)} s, training ${result.trainSeconds.toFixed(1)} s, test accuracy ${result.testAccuracy}`,
  );
  expect(result.testAccuracy).toBeGreaterThanOrEqual(SUBSET_FLOOR);
});

it('a cancelled job at this size stops its training thread promptly', async () => {
  const client = { url: service.api.url, apiKey: service.space.apiKey };
  const jobId = await startTraining(client, trainId, 50);
  // Cancel once it is training (a progress report has arrived), not while it loads.
  for (;;) {
    const shown = await getJob(client, jobId);
    if (shown.status === 'running' && shown.progress.iteration > 0) break;
    expect(['queued', 'running']).toContain(shown.status);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const cancelledAt = Date.now();
  await call(client, 'POST', `/v1/jobs/${jobId}/cancel`); // throws unless 2xx
  const ended = await service.worker.waitForLog(
    (line) => line.msg === 'training thread ended' && line.outcome === 'stopped' && line.time >= cancelledAt,
    60_000,
  );
  const latency = ended.time - cancelledAt;
  console.log(`fashion cancel: the training thread ended ${latency} ms after the cancel`);
  // The figure is printed; the bound only says the cancel reached the thread, not the next epoch.
  expect(latency).toBeLessThan(30_000);
  expect((await getJob(client, jobId)).status).toBe('cancelled');
});
