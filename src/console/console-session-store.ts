import { Schema, type Connection } from 'mongoose';
import { ensureModelIndexes } from '../db/indexes';
import { findById } from '../db/find-by-id';

/**
 * One console sign-in, as kept server-side. Keyed by a hash of the session
 * id: the cookie's value itself is stored nowhere, so a copy of this
 * collection opens no session.
 */
export interface StoredSession {
  /** SHA-256 of the session id, base64url. */
  idHash: string;
  /** The auditor client the session was opened for: checked on every use (revoked, role). */
  clientId: string;
  /** SHA-256 of the CSRF token, base64url. */
  csrfHash: string;
  createdAt: Date;
  /** Unused past this, the session is over; moved on by each use. */
  idleExpiresAt: Date;
  /** The hard end, whatever the use. */
  expiresAt: Date;
}

interface SessionDocument extends Omit<StoredSession, 'idHash'> {
  _id: string;
}

const sessionSchema = new Schema<SessionDocument>(
  {
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    csrfHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    idleExpiresAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'console_sessions', versionKey: false },
);
// The sweep at each sign-in deletes by the hard end (no TTL index: expiry is checked on read).
sessionSchema.index({ expiresAt: 1 });

export interface ConsoleSessionStore {
  insert(session: StoredSession): Promise<void>;
  find(idHash: string): Promise<StoredSession | null>;
  /** Moves the idle end of a live session. */
  touch(idHash: string, idleExpiresAt: Date): Promise<void>;
  remove(idHash: string): Promise<void>;
  /** Deletes every session whose hard or idle end is before `now`. */
  removeExpired(now: Date): Promise<void>;
  ensureIndexes(): Promise<void>;
}

export function createConsoleSessionStore(connection: Connection): ConsoleSessionStore {
  const model = connection.model<SessionDocument>('ConsoleSession', sessionSchema);
  return {
    async insert({ idHash, ...session }) {
      await model.create({ _id: idHash, ...session });
    },
    async find(idHash) {
      const found = await findById<SessionDocument>(model, idHash);
      if (!found) return null;
      const { _id, ...session } = found;
      return { idHash: _id, ...session };
    },
    async touch(idHash, idleExpiresAt) {
      await model.updateOne({ _id: idHash }, { $set: { idleExpiresAt } });
    },
    async remove(idHash) {
      await model.deleteOne({ _id: idHash });
    },
    async removeExpired(now) {
      await model.deleteMany({
        $or: [{ expiresAt: { $lt: now } }, { idleExpiresAt: { $lt: now } }],
      });
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
