/**
 * The worker's thread entries (training-thread.ts, training-helper.ts) as plain JavaScript,
 * bundled once per process with esbuild (the transpiler tsx itself runs on). A thread booted
 * through tsx registered its loader and transpiled the sources anew in every thread, about 0.85 s
 * of CPU per thread here, paid by every job and again by each helper thread; a bundled entry
 * starts in about 0.2 s. The bundle is named by its content hash in a directory of this user's
 * own in the system's temporary directory (mode 0700: code run from a place another user could
 * write would be theirs to choose), so processes of the same code share one, and a process
 * killed with -9 leaves nothing new behind.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export interface ThreadEntries {
  /** training-thread.ts: one job's training */
  training: URL;
  /** training-helper.ts: a helper thread of a training (nn's `threads`) */
  helper: URL;
}

const SOURCES = {
  training: fileURLToPath(new URL('./training-thread.ts', import.meta.url)),
  helper: fileURLToPath(new URL('./training-helper.ts', import.meta.url)),
};

let bundled: Promise<ThreadEntries> | null = null;

/** The bundled entries, built on the first call. */
export function threadEntries(): Promise<ThreadEntries> {
  bundled ??= bundle().catch((err: unknown) => {
    bundled = null; // a later call tries again
    throw err;
  });
  return bundled;
}

async function bundle(): Promise<ThreadEntries> {
  const result = await build({
    entryPoints: SOURCES,
    bundle: true,
    splitting: true, // nn and contracts once, shared by both entries
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: '/', // paths only: nothing is written by esbuild
    outExtension: { '.js': '.mjs' },
    write: false,
    logLevel: 'silent',
  });
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
  const dir = join(await privateDirectory(), hash.digest('hex').slice(0, 16));
  if (!(await exists(join(dir, 'helper.mjs')))) {
    // Written aside, then renamed into place: another process may be writing the same bundle.
    const partial = `${dir}.${process.pid}.partial`;
    await mkdir(partial, { recursive: true });
    await Promise.all(result.outputFiles.map((file) => writeFile(join(partial, file.path), file.contents)));
    await rename(partial, dir).catch(async (err: unknown) => {
      await rm(partial, { recursive: true, force: true });
      if (!(await exists(join(dir, 'helper.mjs')))) throw err;
    });
  }
  return {
    training: pathToFileURL(join(dir, 'training.mjs')),
    helper: pathToFileURL(join(dir, 'helper.mjs')),
  };
}

/** `backprop-worker-threads-<uid>` in the temporary directory: ours alone, or an error saying why not. */
async function privateDirectory(): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `backprop-worker-threads-${uid}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o077) !== 0) {
    throw new Error(
      `${dir} must be a directory of this user's with mode 0700 (the worker runs the code it writes there); remove it or set TMPDIR`,
    );
  }
  return dir;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
