import { Schema, type Connection } from 'mongoose';
import { isDuplicateKey } from '../db/duplicate-key';
import { findById } from '../db/find-by-id';
import { ensureModelIndexes } from '../db/indexes';
import { ALERT_RULES, ALERT_STATUSES, type Alert, type AlertsStore } from './alert-types';

/**
 * `audit_alerts`: one document per (rule, actor, window), `_id` derived from
 * them (alertIdOf). Counts are written as absolute values under a guard
 * ("only if higher"), so no update reads before it writes; a guard that
 * does not match makes the upsert insert, which the unique `_id` refuses:
 * that duplicate is the answer "already as high", not an error.
 */
interface AlertDocument extends Omit<Alert, 'alertId'> {
  _id: string;
}

const alertSchema = new Schema<AlertDocument>(
  {
    _id: { type: String, required: true },
    rule: { type: String, required: true, enum: ALERT_RULES },
    actor: { type: String, required: true },
    count: { type: Number, required: true },
    windowStart: { type: Date, required: true },
    windowEnd: { type: Date, required: true },
    firstAt: { type: Date, required: true },
    lastAt: { type: Date, required: true },
    status: { type: String, required: true, enum: ALERT_STATUSES },
    acknowledgedBy: { type: String, default: null },
    acknowledgedAt: { type: Date, default: null },
    reason: { type: String, default: null },
  },
  { collection: 'audit_alerts', versionKey: false },
);
alertSchema.index({ windowStart: 1, _id: 1 }, { name: 'by_window' });
alertSchema.index({ status: 1, rule: 1 }, { name: 'by_status' });
// The console's open alerts in list order: equality on status, then the sort, then the window range.
alertSchema.index({ status: 1, windowStart: 1, _id: 1 }, { name: 'by_status_window' });

function toAlert(document: AlertDocument): Alert {
  return {
    alertId: document._id,
    rule: document.rule,
    actor: document.actor,
    count: document.count,
    windowStart: document.windowStart,
    windowEnd: document.windowEnd,
    firstAt: document.firstAt,
    lastAt: document.lastAt,
    status: document.status,
    acknowledgedBy: document.acknowledgedBy ?? null,
    acknowledgedAt: document.acknowledgedAt ?? null,
    reason: document.reason ?? null,
  };
}

export function createAlertsStore(connection: Connection): AlertsStore {
  const model = connection.model<AlertDocument>('AuditAlert', alertSchema);
  return {
    ensureIndexes: () => ensureModelIndexes(model),

    async raise({ alertId, count, lastAt, ...window }) {
      try {
        await model.updateOne(
          {
            _id: alertId,
            $or: [{ count: { $lt: count } }, { count, lastAt: { $lt: lastAt } }],
          },
          {
            $set: { count, lastAt },
            $setOnInsert: {
              rule: window.rule,
              actor: window.actor,
              windowStart: window.windowStart,
              windowEnd: window.windowEnd,
              firstAt: window.firstAt,
              status: 'OPEN',
              acknowledgedBy: null,
              acknowledgedAt: null,
              reason: null,
            },
          },
          { upsert: true },
        );
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    },

    async find(alertId) {
      const found = await findById<AlertDocument>(model, alertId);
      return found ? toAlert(found) : null;
    },

    async list({ from, to, status, limit }) {
      const query: Record<string, unknown> = {};
      if (from) query.windowEnd = { $gt: from };
      if (to) query.windowStart = { $lt: to };
      if (status) query.status = status;
      const found = await model
        .find(query)
        .sort({ windowStart: 1, _id: 1 })
        .limit(limit)
        .lean<AlertDocument[]>();
      return found.map(toAlert);
    },

    async acknowledge(alertId, { by, at, reason }) {
      const result = await model.updateOne(
        { _id: alertId, status: 'OPEN' },
        { $set: { status: 'ACKNOWLEDGED', acknowledgedBy: by, acknowledgedAt: at, reason } },
      );
      return result.modifiedCount === 1;
    },

    countOpen: (rule) => model.countDocuments({ status: 'OPEN', rule }),
  };
}
