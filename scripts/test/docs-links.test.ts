/**
 * Every relative link in every committed Markdown file points at a file or folder that a clone
 * has (and, with a #fragment into a Markdown file, at a heading there), and so does every file
 * path quoted as code: nothing refers to notes kept outside the repository, to data that is not
 * committed, or to renamed files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Token, type Tokens, walkTokens } from 'marked';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const markdownFiles = execFileSync('git', ['ls-files', '*.md'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter((path) => path !== '');

function tokensOf(path: string): Token[] {
  return new Lexer().lex(readFileSync(join(repoRoot, path), 'utf8'));
}

/** Link and image targets (not inside code), with inline HTML href/src attributes. */
function targetsOf(path: string): string[] {
  const targets: string[] = [];
  walkTokens(tokensOf(path), (token) => {
    if (token.type === 'link' || token.type === 'image') targets.push((token as Tokens.Link).href);
    if (token.type === 'html') {
      for (const match of token.raw.matchAll(/\b(?:href|src)="([^"]+)"/g)) targets.push(match[1]!);
    }
  });
  return targets;
}

/** The text a reader sees in inline tokens (a link's text, not its target; code without backticks). */
function plainText(tokens: Token[]): string {
  return tokens
    .map((token) =>
      'tokens' in token && token.tokens ? plainText(token.tokens) : 'text' in token ? token.text : '',
    )
    .join('');
}

/**
 * File paths quoted as code (`apps/api/src/env.ts`, `../shared/x.md`, `orig/a.h5`), outside link
 * text: a relative path with a folder, that starts with ./ or ../ or ends in a file extension.
 * Globs, templates and other repositories' paths with placeholders ({a,b}, *, <name>) are left out.
 */
function quotedPathsOf(path: string): string[] {
  const tokens = tokensOf(path);
  const inLinks = new Set<Token>();
  walkTokens(tokens, (token) => {
    if (token.type === 'link') walkTokens((token as Tokens.Link).tokens, (inner) => void inLinks.add(inner));
  });
  const paths: string[] = [];
  walkTokens(tokens, (token) => {
    if (token.type !== 'codespan' || inLinks.has(token)) return;
    const text = (token as Tokens.Codespan).text;
    if (!/^[\w@.-]+(\/[\w@.-]+)*\/?$/.test(text) || !text.includes('/')) return;
    if (/^\.{1,2}\//.test(text) || /\/[\w@-]+(\.[\w-]+)*\.[a-z][a-z0-9]{0,7}$/i.test(text)) paths.push(text);
  });
  return paths;
}

/** Where a quoted path may start: the root, and each workspace package and its src/. */
const pathBases = [
  '.',
  ...['apps', 'packages'].flatMap((group) =>
    readdirSync(join(repoRoot, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => [join(group, entry.name), join(group, entry.name, 'src')]),
  ),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  walkTokens(tokensOf(path), (token) => {
    if (token.type !== 'heading') return;
    const text = plainText((token as Tokens.Heading).tokens);
    anchors.add(
      text
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  });
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

describe('relative links in committed Markdown', () => {
  it('finds the Markdown files', () => {
    expect(markdownFiles).toContain('README.md');
  });

  it.each(markdownFiles)('%s: every relative link resolves inside the repository', (path) => {
    const broken: string[] = [];
    for (const target of targetsOf(path)) {
      if (isExternal(target)) continue;
      const [file = '', fragment] = decodeURI(target).split('#');
      const resolved = file === '' ? join(repoRoot, path) : join(repoRoot, dirname(path), file);
      const inside = relative(repoRoot, resolved);
      if (inside.startsWith('..')) {
        broken.push(`${target}: outside the repository`);
      } else if (!existsSync(resolved)) {
        broken.push(`${target}: no such file`);
      } else if (fragment && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!anchorsOf(inside).has(fragment)) broken.push(`${target}: no heading #${fragment} there`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.each(markdownFiles)('%s: every file path quoted as code exists in the repository', (path) => {
    // Beside the file, or (unless it starts with ./ or ../) from the root or a package.
    const missing = quotedPathsOf(path).filter((quoted) => {
      const bases = quoted.startsWith('../') ? [dirname(path)] : [dirname(path), ...pathBases];
      return !bases.some((base) => {
        const resolved = join(repoRoot, base, quoted);
        return !relative(repoRoot, resolved).startsWith('..') && existsSync(resolved);
      });
    });
    expect(missing).toEqual([]);
  });
});
