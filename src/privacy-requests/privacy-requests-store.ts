import { Schema, type Connection } from 'mongoose';
import { insertUnique } from '../db/duplicate-key';
import { findById } from '../db/find-by-id';
import { ensureModelIndexes } from '../db/indexes';
import {
  REQUEST_CHANNELS,
  REQUEST_KINDS,
  REQUEST_OUTCOMES,
  REQUEST_STATUSES,
  type ListPosition,
  type PrivacyRequest,
  type PrivacyRequestsStore,
  type ReceivedRange,
  type RegisterFilter,
  type RegisterReport,
} from './privacy-requests-types';

/**
 * The register (`privacy_requests`), keyed by `_id: requestId`. Answering is
 * one conditional update (`status: OPEN` -> `ANSWERED`), so of two racing
 * answers exactly one lands. `overdueAlertedAt` marks the overdue alert as
 * raised: claimed by a conditional update too, so several instances alert once.
 */
interface RequestDocument extends Omit<PrivacyRequest, 'requestId'> {
  _id: string;
  overdueAlertedAt: Date | null;
}

const LIST_ORDER = { receivedAt: 1, _id: 1 } as const;

const requestSchema = new Schema<RequestDocument>(
  {
    _id: { type: String, required: true },
    identityId: { type: String, required: true },
    kind: { type: String, required: true, enum: REQUEST_KINDS },
    channel: { type: String, default: null, enum: [...REQUEST_CHANNELS, null] },
    receivedAt: { type: Date, required: true },
    dueAt: { type: Date, required: true },
    status: { type: String, required: true, enum: REQUEST_STATUSES },
    outcome: { type: String, default: null, enum: [...REQUEST_OUTCOMES, null] },
    answeredAt: { type: Date, default: null },
    answeredInTime: { type: Boolean, default: null },
    note: { type: String, default: null },
    overdueAlertedAt: { type: Date, default: null },
  },
  { collection: 'privacy_requests', versionKey: false },
);
// A relayed request sent again (same person, kind and receipt instant) is the same request.
requestSchema.index({ identityId: 1, kind: 1, receivedAt: 1 }, { unique: true, name: 'receipt' });
requestSchema.index(LIST_ORDER, { name: 'by_received' });
requestSchema.index({ status: 1, ...LIST_ORDER }, { name: 'by_status' });
// The overdue check: OPEN requests by due date, a short index range.
requestSchema.index({ status: 1, dueAt: 1 }, { name: 'by_due' });

function toRequest(document: RequestDocument): PrivacyRequest {
  return {
    requestId: document._id,
    identityId: document.identityId,
    kind: document.kind,
    channel: document.channel ?? null,
    receivedAt: document.receivedAt,
    dueAt: document.dueAt,
    status: document.status,
    outcome: document.outcome ?? null,
    answeredAt: document.answeredAt ?? null,
    answeredInTime: document.answeredInTime ?? null,
    note: document.note ?? null,
  };
}

type Query = Record<string, unknown>;

function receivedQuery({ from, to }: ReceivedRange): Query {
  if (!from && !to) return {};
  return { receivedAt: { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } };
}

function toQuery(filter: RegisterFilter): Query {
  const query: Query = receivedQuery(filter);
  if (filter.status) query.status = filter.status;
  if (filter.overdueAt) {
    query.status = 'OPEN';
    query.dueAt = { $lt: filter.overdueAt };
  }
  return query;
}

function afterQuery({ receivedAt, requestId }: ListPosition): Query {
  return { $or: [{ receivedAt: { $gt: receivedAt } }, { receivedAt, _id: { $gt: requestId } }] };
}

export function createPrivacyRequestsStore(connection: Connection): PrivacyRequestsStore {
  const requests = connection.model<RequestDocument>('PrivacyRequest', requestSchema);

  return {
    async insert({ requestId, ...rest }) {
      const document: RequestDocument = { _id: requestId, ...rest, overdueAlertedAt: null };
      return insertUnique(() => requests.collection.insertOne(document as never));
    },

    async findByReceipt(identityId, kind, receivedAt) {
      const found = await requests
        .findOne({ identityId, kind, receivedAt })
        .lean<RequestDocument>();
      return found ? toRequest(found) : null;
    },

    async find(requestId) {
      const found = await findById<RequestDocument>(requests, requestId);
      return found ? toRequest(found) : null;
    },

    async markAnswered(requestId, answer) {
      const updated = await requests
        .findOneAndUpdate(
          { _id: requestId, status: 'OPEN' },
          { $set: { status: 'ANSWERED', ...answer } },
          { returnDocument: 'after' },
        )
        .lean<RequestDocument>();
      return updated ? toRequest(updated) : null;
    },

    async findPage(filter, after, limit) {
      const query = after ? { $and: [toQuery(filter), afterQuery(after)] } : toQuery(filter);
      const found = await requests
        .find(query)
        .sort(LIST_ORDER)
        .limit(limit)
        .lean<RequestDocument[]>();
      return found.map(toRequest);
    },

    async tally(range, now) {
      const report: RegisterReport = {
        received: 0,
        answered: 0,
        answeredInTime: 0,
        answeredLate: 0,
        open: 0,
        overdue: 0,
      };
      // One pass over the range, so the figures add up (received = answered + open).
      const cursor = requests
        .find(receivedQuery(range))
        .select({ status: 1, dueAt: 1, answeredInTime: 1 })
        .lean<Pick<RequestDocument, 'status' | 'dueAt' | 'answeredInTime'>>()
        .cursor({ batchSize: 1000 });
      for await (const request of cursor) {
        report.received += 1;
        if (request.status === 'ANSWERED') {
          report.answered += 1;
          report[request.answeredInTime ? 'answeredInTime' : 'answeredLate'] += 1;
        } else {
          report.open += 1;
          if (request.dueAt.getTime() < now.getTime()) report.overdue += 1;
        }
      }
      return report;
    },

    count: (filter) => requests.countDocuments(toQuery(filter)),

    async findUnalertedOverdue(now, limit) {
      const found = await requests
        .find({ status: 'OPEN', dueAt: { $lt: now }, overdueAlertedAt: null })
        .select({ kind: 1 })
        .sort({ dueAt: 1 })
        .limit(limit)
        .lean<Pick<RequestDocument, '_id' | 'kind'>[]>();
      return found.map((document) => ({ requestId: document._id, kind: document.kind }));
    },

    async claimOverdueAlert(requestId, at) {
      const result = await requests.updateOne(
        { _id: requestId, status: 'OPEN', overdueAlertedAt: null },
        { $set: { overdueAlertedAt: at } },
      );
      return result.modifiedCount === 1;
    },

    ensureIndexes: () => ensureModelIndexes(requests),
  };
}
