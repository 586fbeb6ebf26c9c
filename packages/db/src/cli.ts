/**
 * The command line of the operator tools (`npm run keys`, `chaos`, `db:migrate`, `db:migration`,
 * `start`): node's util.parseArgs, plus what every command owes its user. `--help` (or `-h`)
 * prints the usage and exits 0 before anything else happens (no database is touched); a
 * malformed command line prints what is wrong and the usage, and exits 2, never a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit code of a command line that cannot be understood (as in sh and most Unix tools). */
export const USAGE_EXIT_CODE = 2;

/** Prints `message`, the usage's first paragraph and a pointer to --help to stderr; exits 2. */
export function usageError(usage: string, message: string): never {
  const synopsis = usage.split('\n\n')[0];
  process.stderr.write(`${message}\n${synopsis}\n(--help for more)\n`);
  process.exit(USAGE_EXIT_CODE);
}

/**
 * parseArgs(config) over process.argv (or config.args), answering `--help` and turning a parse
 * error into a usage error. `usage` is the whole help text.
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? process.argv.slice(2);
  // First pass: only --help, whatever else the line holds (even an unknown option).
  const { values } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
  });
  if (values['help'] === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs<T>({ ...config, args });
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      usageError(usage, error.message);
    }
    throw error;
  }
}
