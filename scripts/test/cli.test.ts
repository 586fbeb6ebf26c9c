/**
 * The operator commands, run for real as `npm run <command> -- ...`: every one answers --help
 * with its usage (exit 0, touching no database), and a malformed command line with what is wrong
 * and the usage (exit 2), never a stack trace. `keys` is then driven through a whole life cycle
 * against a real database.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Nothing listens here: a command that tried to reach the database would fail. */
const UNREACHABLE_DATABASE = 'postgresql://postgres@127.0.0.1:1/none';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function npmRun(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', script, '--', ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A stack frame line, as node prints an uncaught error. */
const STACK_FRAME = /^\s+at .+[(:]\d+/m;

const COMMANDS: [script: string, synopsis: string][] = [
  ['keys', 'usage: npm run keys -- <command> [options]'],
  ['chaos', 'usage: npm run chaos -- [--rounds N]'],
  ['db:migrate', 'usage: npm run db:migrate'],
  ['db:migration', 'usage: npm run db:migration -- <name>'],
  ['start', 'usage: npm start'],
];

describe.each(COMMANDS)('npm run %s', (script, synopsis) => {
  it('--help prints the usage and exits 0 without touching the database', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await npmRun(script, [flag], { DATABASE_URL: UNREACHABLE_DATABASE });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.startsWith(synopsis), run.stdout).toBe(true);
      expect(run.stdout).toContain('-h, --help');
      expect(run.stderr).toBe('');
    }
  });

  it('an unknown option is exit 2 with the reason and the usage, no stack trace', async () => {
    const run = await npmRun(script, ['--no-such-option'], { DATABASE_URL: UNREACHABLE_DATABASE });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--no-such-option'");
    expect(run.stderr).toContain(synopsis);
    expect(run.stderr).toContain('(--help for more)');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('npm run keys', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolMax: 1 });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('creates, lists and revokes a key in the database of DATABASE_URL', async () => {
    const env = { DATABASE_URL: database.url };
    const created = await npmRun('keys', ['create', '--tenant', 'cli-test', '--name', 'laptop'], env);
    expect(created.code, created.stderr).toBe(0);
    const [first, , key] = created.stdout.trim().split('\n');
    const id = /^created key ([0-9a-f-]{36}) for tenant cli-test /.exec(first ?? '')?.[1];
    expect(id, created.stdout).toBeDefined();
    expect(key).toMatch(/^bp_\S{20,}$/);

    const listed = await npmRun('keys', ['list', '--tenant', 'cli-test'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}  tenant \\S+  \\S+…  laptop  active$`, 'm'));

    const revoked = await npmRun('keys', ['revoke', id!], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim()).toBe(`revoked ${id}`);
    const again = await npmRun('keys', ['revoke', id!], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no active key ${id}`);
    expect((await npmRun('keys', ['list'], env)).stdout).toMatch(new RegExp(`^${id} .* revoked \\S+$`, 'm'));
  });

  it('a command without its argument is exit 2 naming it', async () => {
    const env = { DATABASE_URL: UNREACHABLE_DATABASE };
    const cases: [string[], string][] = [
      [[], 'missing command'],
      [['rotate'], 'unknown command rotate'],
      [['create'], 'create needs --tenant <name>'],
      [['revoke'], 'revoke needs a key id'],
      [['list', 'extra'], 'list: unexpected argument extra'],
    ];
    for (const [args, message] of cases) {
      const run = await npmRun('keys', args, env);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0]).toBe(message);
    }
  });

  it('a database it cannot reach is exit 1 with one line naming DATABASE_URL', async () => {
    const run = await npmRun('keys', ['list'], { DATABASE_URL: UNREACHABLE_DATABASE });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `keys: Can't reach database server at 127.0.0.1:1 (DATABASE_URL ${UNREACHABLE_DATABASE})`,
    ]);
  });
});
