/** Where the CLI keeps its API key: $XDG_CONFIG_HOME/backprop/config.json (else ~/.config), mode 0600. */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const CliConfig = z.object({ baseUrl: z.url(), apiKey: z.string().min(1) });
export type CliConfig = z.infer<typeof CliConfig>;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'backprop', 'config.json');
}

export async function saveConfig(config: CliConfig, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file: an older file is narrowed too.
  await chmod(path, 0o600);
}

/** The saved configuration, with BACKPROP_URL / BACKPROP_API_KEY taking precedence; null if none. */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<CliConfig | null> {
  let saved: unknown = {};
  try {
    saved = JSON.parse(await readFile(configPath(env), 'utf8'));
  } catch {
    // no saved login
  }
  const fromFile = z
    .object({ baseUrl: z.string().optional(), apiKey: z.string().optional() })
    .safeParse(saved);
  const merged = {
    baseUrl: env.BACKPROP_URL || (fromFile.success ? fromFile.data.baseUrl : undefined),
    apiKey: env.BACKPROP_API_KEY || (fromFile.success ? fromFile.data.apiKey : undefined),
  };
  const parsed = CliConfig.safeParse(merged);
  return parsed.success ? parsed.data : null;
}
