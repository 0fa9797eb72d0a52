import type { TestApp } from './test-app';

/**
 * Makes the app's next access-log append fail for real, without mocking the
 * database: a document is put at the position after the latest event, so the
 * unique (stream, seq) index refuses the app's next append. The latest event
 * must be the app's own (make a recorded request first).
 */
export async function blockNextAppend(t: TestApp): Promise<{ stream: string; seq: number }> {
  const events = t.connection.collection('audit_events');
  const latest = await events.find().sort({ at: -1, seq: -1 }).limit(1).next();
  const position = { stream: latest!.stream as string, seq: (latest!.seq as number) + 1 };
  await events.insertOne({ _id: `${position.stream}:${position.seq}`, ...position } as never);
  return position;
}
