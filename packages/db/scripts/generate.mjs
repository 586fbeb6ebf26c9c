// `npm run db:generate`: `prisma generate` without downloading anything.
//
// The Prisma 7 CLI downloads its native schema engine before any command, generate included,
// although generate never runs it; it skips the download when PRISMA_SCHEMA_ENGINE_BINARY names
// an existing file (only existence is checked). The client itself needs no engine binary: the
// prisma-client generator with @prisma/adapter-pg runs a WebAssembly query compiler.
// Plain JavaScript so that it runs from a root postinstall, before anything else is set up.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = require.resolve('prisma/build/index.js');

const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: {
    ...process.env,
    // any existing file will do: this one certainly exists
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    // no update check, no telemetry request
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
process.exit(result.status ?? 1);
