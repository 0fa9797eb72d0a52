import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino blanks in every log line. Personal fields are listed wherever a
 * careless `log.info({ body })` could put them; the service itself never logs
 * request bodies, this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  ...['name', 'idNumber', 'phone', 'telephone', 'address', 'photo', 'birthDate', 'body'].flatMap(
    (field) => [field, `*.${field}`, `*.*.${field}`],
  ),
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
