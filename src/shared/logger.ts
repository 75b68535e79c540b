/** Logging goes through pino (fastify's logger); components get child loggers. */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug' | 'trace' | 'fatal' | 'child'>;

export function createLogger(level: string, destination?: NodeJS.WritableStream): PinoLogger {
  return pino({ level, redact: { paths: ['req.headers.authorization', 'token', 'apiToken', '*.apiToken', 'passphrase'], censor: '[redacted]' } }, (destination ?? process.stderr) as pino.DestinationStream);
}
