import pino, { type DestinationStream, type Logger } from 'pino';
import { PERSONAL_FIELD_NAMES } from './identities/personal-fields';

/**
 * Paths pino blanks in every log line. Every personal field name is listed,
 * at the depths a careless `log.info({ body })` could put it; the service
 * itself never logs request bodies, this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  ...[...PERSONAL_FIELD_NAMES, 'body'].flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'customs-identity' },
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
