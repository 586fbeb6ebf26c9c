/**
 * The README promises a Node.js version; every installed package must accept it, so that `npm ci`
 * on that version warns about no engine (EBADENGINE) and nothing installed needs a newer Node.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const repoRoot = new URL('../../', import.meta.url);
const readText = (path: string) => readFileSync(new URL(path, repoRoot), 'utf8');

const rootPackage = z
  .object({ engines: z.object({ node: z.string() }) })
  .parse(JSON.parse(readText('package.json')));
const lockfile = z
  .object({
    packages: z.record(z.string(), z.object({ engines: z.unknown().optional() }).passthrough()),
  })
  .parse(JSON.parse(readText('package-lock.json')));

const promised = semver.minVersion(rootPackage.engines.node);

describe('the Node.js version the README promises', () => {
  it('is the minimum of package.json engines.node', () => {
    expect(promised).not.toBeNull();
    const [, major, minor] = /Needs Node\.js ≥ (\d+)\.(\d+)/.exec(readText('README.md')) ?? [];
    expect(`${major}.${minor}.0`).toBe(promised?.version);
  });

  it('is accepted by every package in package-lock.json (npm ci prints no EBADENGINE)', () => {
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lockfile.packages)) {
      // engines is usually { node: range }; a few old packages list an array of strings
      const range = z.object({ node: z.string() }).safeParse(entry.engines);
      if (!range.success || !promised) continue;
      for (const version of [promised.version, process.versions.node]) {
        if (!semver.satisfies(version, range.data.node)) {
          refusing.push(`${path || 'backprop'} wants node ${range.data.node}, not ${version}`);
        }
      }
    }
    expect(refusing).toEqual([]);
  });
});
