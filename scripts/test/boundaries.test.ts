/**
 * ARCHITECTURE.md's dependency rules, checked on every import of the tree (read with the
 * TypeScript compiler's own import scanner, as import-cycles.test.ts does):
 * - nn imports nothing of the workspace and no `node:` module (it runs in a browser too);
 * - contracts imports only zod;
 * - db imports no other workspace package;
 * - an app's source reaches Postgres only through db: no Prisma, no pg, no raw SQL of its own;
 * - no app imports another app's source (tests included: a test exercises its own app);
 * - scripts import no test helpers;
 * - no app's source imports the harness (harness/: the whole service on private servers, which
 *   system tests, benchmarks and the chaos run share; it may import the apps it starts).
 * Places that break a rule today are listed in KNOWN_VIOLATIONS until they are moved; a
 * violation not listed fails the test, and so does a listed one that is gone (delete its entry).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, sourceFiles } from './source-files.ts';

/** Each as `file -> import` (repository-relative, `/`-separated). */
const KNOWN_VIOLATIONS = new Set<string>([]);

const repoPath = (path: string) => relative(repoRoot, path).split(sep).join('/');

/** An import as written, and for a relative one the repository path it points at. */
interface Import {
  specifier: string;
  target: string | null;
}

function importsOf(file: string, text = readFileSync(file, 'utf8')): Import[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName }) => ({
    specifier: fileName,
    target: fileName.startsWith('.') ? repoPath(resolve(dirname(file), fileName)) : null,
  }));
}

const workspacePackage = (specifier: string) => /^@backprop\//.test(specifier);
/** The app a repository path belongs to (`apps/<name>/...`), or null. */
const appOf = (path: string) => /^apps\/([^/]+)\//.exec(path)?.[1] ?? null;
const isTestHelper = (path: string) => /(^|\/)test\//.test(path);

/**
 * What is wrong with one import of `file` (a repository path), or null. The rule per part is
 * ARCHITECTURE.md's table.
 */
function breach(file: string, { specifier, target }: Import): string | null {
  if (file.startsWith('packages/nn/src/')) {
    if (workspacePackage(specifier)) return 'nn imports nothing of the workspace';
    if (specifier.startsWith('node:')) return 'nn imports no node: module';
  }
  if (file.startsWith('packages/contracts/src/') && target === null && specifier !== 'zod') {
    return 'contracts imports only zod';
  }
  if (file.startsWith('packages/db/src/') && workspacePackage(specifier)) {
    return 'db imports no other workspace package';
  }
  const app = appOf(file);
  if (app !== null && file.startsWith(`apps/${app}/src/`)) {
    if (/^(@prisma\/|pg$|prisma$)/.test(specifier) || target?.includes('/generated/prisma')) {
      return 'an app reaches Postgres only through db';
    }
  }
  if (app !== null && target !== null) {
    const other = appOf(target);
    if (other !== null && other !== app && !isTestHelper(target)) {
      return "an app does not import another app's source";
    }
  }
  if (app !== null && file.startsWith(`apps/${app}/src/`) && target?.startsWith('harness/')) {
    return "an app's source does not import the harness";
  }
  if (
    file.startsWith('scripts/') &&
    !file.startsWith('scripts/test/') &&
    target !== null &&
    isTestHelper(target)
  ) {
    return 'scripts import no test helpers';
  }
  return null;
}

/** Raw SQL outside db: an app's source runs no query of its own. */
const RAW_SQL = /\$(queryRaw|executeRaw)(Unsafe)?\b/;

describe('dependency boundaries (ARCHITECTURE.md)', () => {
  const files = [
    'apps',
    'harness',
    'packages/contracts/src',
    'packages/db/src',
    'packages/nn/src',
    'scripts',
  ].flatMap((root) => sourceFiles(join(repoRoot, root)));

  it('every import keeps to its part’s rule', () => {
    const found = new Map<string, string>();
    for (const file of files) {
      const path = repoPath(file);
      for (const imported of importsOf(file)) {
        const why = breach(path, imported);
        if (why !== null) found.set(`${path} -> ${imported.target ?? imported.specifier}`, why);
      }
    }
    const unlisted = [...found]
      .filter(([key]) => !KNOWN_VIOLATIONS.has(key))
      .map(([k, why]) => `${k}: ${why}`);
    expect(unlisted).toEqual([]);
    expect([...KNOWN_VIOLATIONS].filter((key) => !found.has(key))).toEqual([]);
  });

  it("no app's source runs raw SQL (db owns every query)", () => {
    const offenders = files
      .map(repoPath)
      .filter((path) => /^apps\/[^/]+\/src\//.test(path))
      .filter((path) => RAW_SQL.test(readFileSync(join(repoRoot, path), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('each rule catches what it forbids (and lets the allowed through)', () => {
    const at = (file: string, text: string) =>
      importsOf(join(repoRoot, file), text).map((imported) => breach(file, imported));
    expect(at('packages/nn/src/x.ts', "import { z } from '@backprop/contracts';")).toEqual([
      'nn imports nothing of the workspace',
    ]);
    expect(at('packages/nn/src/x.ts', "import { readFileSync } from 'node:fs';")).toEqual([
      'nn imports no node: module',
    ]);
    expect(at('packages/contracts/src/x.ts', "import { z } from 'zod'; import a from 'semver';")).toEqual([
      null,
      'contracts imports only zod',
    ]);
    expect(at('packages/db/src/x.ts', "import { Network } from '@backprop/nn';")).toEqual([
      'db imports no other workspace package',
    ]);
    expect(
      at(
        'apps/api/src/x.ts',
        "import { PrismaClient } from '@prisma/client'; import pg from 'pg'; import { getJob } from '@backprop/db';",
      ),
    ).toEqual(['an app reaches Postgres only through db', 'an app reaches Postgres only through db', null]);
    expect(
      at(
        'apps/api/test/x.test.ts',
        "import a from '../../worker/src/events.ts'; import b from '../../worker/test/process/harness.ts';",
      ),
    ).toEqual(["an app does not import another app's source", null]);
    expect(
      at('scripts/x.ts', "import a from '../apps/worker/test/x.ts'; import b from '../harness/stack.ts';"),
    ).toEqual(['scripts import no test helpers', null]);
    expect(at('apps/worker/src/x.ts', "import a from '../../../harness/stack.ts';")).toEqual([
      "an app's source does not import the harness",
    ]);
    expect(at('harness/x.ts', "import a from '../apps/api/src/api.ts';")).toEqual([null]);
    expect(RAW_SQL.test('await db.$queryRaw`SELECT 1`')).toBe(true);
  });
});
