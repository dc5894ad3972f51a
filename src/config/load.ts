import type { Logger } from 'pino';
import { createLogger } from '../logger.js';
import { ConfigError, loadConfig, type Config } from './env.js';

/**
 * Loads the configuration for a command or the server, or logs every problem in one fatal
 * line and returns undefined, so that the caller exits 1.
 */
export function loadConfigOrReport(
  env: NodeJS.ProcessEnv,
): { config: Config; log: Logger } | undefined {
  try {
    const config = loadConfig(env);
    return { config, log: createLogger(config.logLevel) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger('info').fatal({ event: 'config_invalid', problems: err.problems }, err.message);
    return undefined;
  }
}
