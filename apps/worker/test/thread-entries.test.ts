/**
 * The worker runs its threads from the bundle it writes (thread-entries.ts): only from a directory
 * no other user can write, refused with a clear error otherwise.
 */
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { threadEntries } from '../src/thread-entries.ts';

const originalTmp = process.env.TMPDIR;
const made: string[] = [];
async function freshTmp(): Promise<string> {
  const dir = await mkdtemp(join(originalTmp ?? tmpdir(), 'backprop-entries-test-'));
  made.push(dir);
  process.env.TMPDIR = dir;
  return dir;
}
afterEach(async () => {
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const uid = process.getuid?.() ?? 0;

describe('the bundled thread entries', () => {
  it('refuses a bundle directory that others can write', async () => {
    const tmp = await freshTmp();
    const shared = join(tmp, `backprop-worker-threads-${uid}`);
    await mkdir(shared);
    await chmod(shared, 0o777);
    await expect(threadEntries()).rejects.toThrow(/must be a directory of this user's with mode 0700/);
  });

  it('writes both entries into a directory of mode 0700, and gives the same files to a second call', async () => {
    const tmp = await freshTmp();
    const entries = await threadEntries();
    const training = fileURLToPath(entries.training);
    expect(training.startsWith(join(tmp, `backprop-worker-threads-${uid}`))).toBe(true);
    expect((await stat(training)).size).toBeGreaterThan(1000);
    expect((await stat(fileURLToPath(entries.helper))).size).toBeGreaterThan(100);
    expect((await stat(join(tmp, `backprop-worker-threads-${uid}`))).mode & 0o777).toBe(0o700);
    expect((await threadEntries()).training.href).toBe(entries.training.href);
  });
});
