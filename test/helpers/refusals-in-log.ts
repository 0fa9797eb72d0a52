import { auth } from './auth';
import { createTestApp, type TestApp } from './test-app';

export interface ListedEvent {
  seq: number;
  stream: string;
  at: string;
  actor: { clientId: string; role: string } | null;
  outcome: string;
  requestId: string;
  resource: { route: string };
  repeat?: { count: number; firstAt: string; lastAt: string };
}

/** DENIED events of the access log, as the security team lists them. */
export async function deniedEvents(
  app: TestApp,
  auditorKey: string,
  query: Record<string, string> = {},
): Promise<ListedEvent[]> {
  const response = await app
    .http()
    .get('/v1/audit-events')
    .query({ outcome: 'DENIED', limit: 500, ...query })
    .set(auth(auditorKey))
    .expect(200);
  return response.body.items;
}

/** How many refusals events state: one each, or the count of an event that stands for several. */
export const refusalsStated = (events: ListedEvent[]): number =>
  events.reduce((sum, event) => sum + (event.repeat?.count ?? 1), 0);

/**
 * Stops the app as a deploy would (open refusal counts are written at
 * shutdown) and starts another on the same database to read the log.
 */
export async function restartOnSameDatabase(app: TestApp, env: Record<string, string> = {}) {
  await app.stop();
  return createTestApp({ ...env, DB_NAME: app.connection.name });
}
