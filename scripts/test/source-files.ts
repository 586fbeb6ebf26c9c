/** The tree's TypeScript source as the tests of its imports read it (boundaries, import cycles). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Installed, generated and built code: not ours to hold to the rules. */
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'generated', 'dist']);

/** Every .ts, .tsx and .mts file below `directory` but declaration files, as absolute paths. */
export function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return SKIPPED_DIRECTORIES.has(name) ? [] : sourceFiles(path);
    return /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}
