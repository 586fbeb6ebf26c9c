/**
 * No import cycles in our source: a file's imports (type-only ones included, as `madge --circular`
 * counts them) never lead back to it. A cycle means two files are one unit in fact; it makes the
 * order in which modules initialise matter and keeps a part from being read or moved on its own.
 * The graph is read with the TypeScript compiler's own import scanner; generated code is left out.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, sourceFiles } from './source-files.ts';

const ROOTS = ['apps', 'harness', 'packages/contracts/src', 'packages/db/src', 'packages/nn/src', 'scripts'];
/** Cycles being removed elsewhere, each as its files sorted and joined by ' ↔ '. Delete the entry
 * when its cycle goes; a cycle not listed here fails the test. */
const KNOWN_CYCLES = new Set<string>([]);

/** The files a file imports by a relative path (packages are imported by name, which never cycles
 * across the workspace's one-direction dependency rules; within a package, imports are relative). */
function relativeImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('./') || specifier.startsWith('../'))
    .map((specifier) => resolve(dirname(file), specifier))
    .map((path) =>
      [path, `${path}.ts`, `${path}.tsx`, join(path, 'index.ts')].find(
        (p) => existsSync(p) && statSync(p).isFile(),
      ),
    )
    .filter((path): path is string => path !== undefined);
}

/** Tarjan's strongly connected components: each component of more than one file is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfImport = graph.get(node)?.includes(node) ?? false;
      if (component.length > 1 || selfImport) found.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('import cycles', () => {
  const files = ROOTS.flatMap((root) => sourceFiles(join(repoRoot, root)));
  const graph = new Map(files.map((file) => [file, relativeImports(file)]));
  const found = cycles(graph).map((component) =>
    component
      .map((file) => relative(repoRoot, file))
      .sort()
      .join(' ↔ '),
  );

  it('reads the whole tree (a walk that found nothing would prove nothing)', () => {
    expect(files.length).toBeGreaterThan(100);
    const nnNetwork = graph.get(join(repoRoot, 'packages/nn/src/network.ts'));
    expect(nnNetwork).toContain(join(repoRoot, 'packages/nn/src/architecture.ts'));
  });

  it('finds a cycle when there is one', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
    ).toEqual([['c', 'b', 'a']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('apps, contracts, db and nn have none beyond the known ones', () => {
    expect(found.filter((cycle) => !KNOWN_CYCLES.has(cycle))).toEqual([]);
  });
});
