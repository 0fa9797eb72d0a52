import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { IDENTITIES_COLLECTION } from '../src/identities/identities-types';
import { DEMO_PREFIX, DEMO_SKU_PREFIX, type DemoRole } from './demo-data';
import type { DemoSummary } from './demo-seed';

/**
 * The demo's own records in the database it seeds: one marker document that
 * says "this database is the demo's" (with the ids of the clients it
 * registered and, once seeding finished, what it made), and the guard that
 * refuses a database holding anything else. Everything else the demo creates
 * goes through the HTTP API; this is the only code that reads the database.
 */

export const DEMO_MARKER_COLLECTION = 'demo_marker';
const MARKER_ID = 'customs-identity-demo';

export interface DemoMarker {
  /** Names the demo's key file, so keys of one demo database never meet another's. */
  demoId: string;
  createdAt: Date;
  clients: Partial<Record<DemoRole, string>>;
  /** Set when every step succeeded: a later run seeds nothing. */
  seededAt: Date | null;
  summary: DemoSummary | null;
}

interface MarkerDocument extends DemoMarker {
  _id: string;
}

/** Where data the demo did not create would be, and how demo data is named there. */
const DEMO_NAMED: readonly { collection: string; field: string; prefix: string; what: string }[] = [
  { collection: 'clients', field: 'name', prefix: DEMO_PREFIX, what: 'API clients' },
  { collection: IDENTITIES_COLLECTION, field: 'userId', prefix: DEMO_PREFIX, what: 'identities' },
  { collection: 'products', field: '_id', prefix: DEMO_SKU_PREFIX, what: 'products' },
  { collection: 'orders', field: '_id', prefix: DEMO_SKU_PREFIX, what: 'orders' },
];

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface DemoStore {
  /** What the database holds that the demo did not create, e.g. `["2 API clients"]`; [] if none. */
  foreignData(): Promise<string[]>;
  read(): Promise<DemoMarker | null>;
  /** The marker, written first if absent (a run that stops half way is resumed by the next). */
  open(): Promise<DemoMarker>;
  recordClient(role: DemoRole, clientId: string): Promise<void>;
  markSeeded(summary: DemoSummary): Promise<void>;
}

export function createDemoStore(connection: Connection): DemoStore {
  const markers = () => connection.db!.collection<MarkerDocument>(DEMO_MARKER_COLLECTION);
  const read = async () => {
    const found = await markers().findOne({ _id: MARKER_ID }, { projection: { _id: 0 } });
    return found as DemoMarker | null;
  };
  return {
    async foreignData() {
      const found: string[] = [];
      for (const { collection, field, prefix, what } of DEMO_NAMED) {
        const documents = connection.db!.collection(collection);
        // Two counts rather than a negative regex: FerretDB's regexes have no lookahead.
        const all = await documents.countDocuments({});
        if (all === 0) continue;
        const demo = await documents.countDocuments({
          [field]: { $regex: `^${escapeRegex(prefix)}` },
        });
        if (all > demo) found.push(`${all - demo} ${what}`);
      }
      return found;
    },
    read,
    async open() {
      const fresh: MarkerDocument = {
        _id: MARKER_ID,
        demoId: randomUUID(),
        createdAt: new Date(),
        clients: {},
        seededAt: null,
        summary: null,
      };
      try {
        await markers().insertOne(fresh);
      } catch (error) {
        // Duplicate key: an earlier run wrote it; that one is the marker.
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      return (await read())!;
    },
    async recordClient(role, clientId) {
      await markers().updateOne({ _id: MARKER_ID }, { $set: { [`clients.${role}`]: clientId } });
    },
    async markSeeded(summary) {
      await markers().updateOne({ _id: MARKER_ID }, { $set: { seededAt: new Date(), summary } });
    },
  };
}
