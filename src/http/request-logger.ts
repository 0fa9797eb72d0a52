import type { RequestHandler } from 'express';
import type { Logger } from '../logger';

/**
 * One line per request with only what operations need: never the URL (query
 * strings could carry anything), never headers or bodies; the route template
 * stands in for the path.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info(
        {
          requestId: req.state?.requestId,
          method: req.method,
          route: req.state?.route ?? 'unmatched',
          status: res.statusCode,
          clientId: req.state?.actor?.clientId,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}
