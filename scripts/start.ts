/**
 * `npm start`: the whole service on one machine. Applies migrations, then runs the API and one
 * worker process side by side, forwarding signals and stopping both if either exits. For more
 * workers (here or on other machines) run `npm run start:worker` against the same Postgres and
 * Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseCommandLine } from '@backprop/db/cli';

parseCommandLine(
  `usage: npm start

Runs the whole service on this machine: applies the migrations (npm run db:migrate), builds the
dashboard (apps/dashboard, served at /dashboard/; skipped when DASHBOARD_DIR is set), then the
API (on PORT, default 3000) and one worker, stopping both when either exits or on a signal.
Configuration comes from the environment (DATABASE_URL, REDIS_URL, ...; see the README).
Run the parts apart with npm run start:api and npm run start:worker.

options:
  -h, --help   this help`,
  {},
);

function run(name: string, script: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit', env: process.env });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${signal ?? code}); stopping the service\n`);
      stop('SIGTERM');
      process.exitCode = code ?? 1;
    }
  });
  return child;
}

let stopping = false;
const children: ChildProcess[] = [];
function stop(signal: NodeJS.Signals): void {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

/**
 * Builds the dashboard with Vite into apps/dashboard/dist, where the API serves it from: a few
 * seconds, at every start, so what is served always matches the checkout (nothing built is
 * committed). Skipped when DASHBOARD_DIR is set (a build of the operator's own, or '' for none).
 * A failed build leaves the API without a dashboard, not without a service.
 */
async function buildDashboard(): Promise<void> {
  if (Object.hasOwn(process.env, 'DASHBOARD_DIR')) return;
  let vite: string;
  try {
    vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin/vite.js');
  } catch {
    process.stderr.write('vite is not installed (npm ci installs it): starting without the dashboard\n');
    return;
  }
  const build = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: 'apps/dashboard',
    stdio: 'inherit',
  });
  const built = await new Promise<number | null>((resolve) => build.on('exit', resolve));
  if (built !== 0) process.stderr.write('the dashboard build failed: starting without the dashboard\n');
}

const migrate = spawn(process.execPath, ['--import', 'tsx', 'packages/db/src/migrate-cli.ts'], {
  stdio: 'inherit',
});
const migrated = await new Promise<number | null>((resolve) => migrate.on('exit', resolve));
if (migrated !== 0) {
  process.stderr.write('migrations failed; not starting\n');
  process.exit(1);
}
await buildDashboard();
children.push(run('api', 'apps/api/src/server.ts'), run('worker', 'apps/worker/src/main.ts'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));
