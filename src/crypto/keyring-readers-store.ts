import { Schema, type Connection, type Model } from 'mongoose';
import { ensureModelIndexes } from '../db/indexes';

/**
 * What each running instance holds of the keyring, reported after every
 * reload (`keyring_readers`, one document per instance start). `keys
 * move-profile` waits on these reports instead of hoping a settle time was
 * enough: a new blind-index version is activated only once every live
 * instance holds it, and the move goes on only once every one writes with it.
 */
export interface KeyringReader {
  /** Random per process start. */
  instanceId: string;
  /** Its KEYRING_REFRESH_MS; 0: it never reloads (the move refuses to run beside it). */
  refreshMs: number;
  heartbeatAt: Date;
  /** Blind-index versions held, as `<purpose>#<version>`. */
  holds: string[];
  /** The version of each blind-index purpose new indexes are made with, as above. */
  writes: string[];
}

export interface KeyringReadersStore {
  report(reader: KeyringReader): Promise<void>;
  remove(instanceId: string): Promise<void>;
  list(): Promise<KeyringReader[]>;
  ensureIndexes(): Promise<void>;
}

type ReaderDocument = Omit<KeyringReader, 'instanceId'> & { _id: string };

const readerSchema = new Schema<ReaderDocument>(
  {
    _id: { type: String, required: true },
    refreshMs: { type: Number, required: true },
    heartbeatAt: { type: Date, required: true },
    holds: { type: [String], default: [] },
    writes: { type: [String], default: [] },
  },
  { collection: 'keyring_readers', versionKey: false },
);

export function createKeyringReadersStore(connection: Connection): KeyringReadersStore {
  const model =
    (connection.models.KeyringReader as Model<ReaderDocument> | undefined) ??
    connection.model<ReaderDocument>('KeyringReader', readerSchema);
  return {
    async report({ instanceId, ...state }) {
      await model.updateOne({ _id: instanceId }, { $set: state }, { upsert: true });
    },
    async remove(instanceId) {
      await model.deleteOne({ _id: instanceId });
    },
    async list() {
      const found = await model.find().lean<ReaderDocument[]>();
      return found.map(({ _id, ...rest }) => ({ instanceId: _id, ...rest }));
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
