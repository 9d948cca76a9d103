import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CapstanError, ConfigError } from '../shared/index.js';
import { parseConfig } from './parse-config.js';
import type { LoadedConfig } from './types.js';

export const CONFIG_FILE_NAME = 'capstan.yaml';

/**
 * Read and validate `<cwd>/.deploy/capstan.yaml` (or `<deployDir>/capstan.yaml`, deployDir relative
 * to cwd). Throws one ConfigError holding every problem, each with file, line, column and path.
 */
export async function loadConfig(options: { cwd: string; deployDir?: string }): Promise<LoadedConfig> {
  const deployDir = resolve(options.cwd, options.deployDir ?? '.deploy');
  const file = join(deployDir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError([{ file, message: `no ${CONFIG_FILE_NAME} found` }], {
        hint: `Capstan reads ${CONFIG_FILE_NAME} from the deploy folder (${deployDir}); create it or point to another folder`,
        cause: error,
      });
    }
    throw new CapstanError('ERR_CAPSTAN_READ_CONFIG', `cannot read ${file}`, { cause: error });
  }
  const parsed = parseConfig(text, file);
  if (!parsed.config) throw new ConfigError(parsed.issues);
  return { config: parsed.config, file, deployDir };
}
