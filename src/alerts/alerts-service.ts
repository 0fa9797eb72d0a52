import type { AccessLog } from '../audit/audit-types';
import { Conflict, NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { Alert, AlertFilter, AlertsStore } from './alert-types';

export interface AlertsService {
  /** The alerts of a time window; the read is recorded first (audit.read). */
  list(filter: AlertFilter, context: RequestContext): Promise<Alert[]>;
  /**
   * OPEN -> ACKNOWLEDGED by the caller, with a reason; recorded first
   * (audit.alert-ack). The same reason again is a replay (nothing new is
   * recorded); another reason for an acknowledged alert is a conflict.
   */
  acknowledge(alertId: string, reason: string, context: RequestContext): Promise<Alert>;
}

export function createAlertsService({
  store,
  accessLog,
  clock,
}: {
  store: AlertsStore;
  accessLog: Pick<AccessLog, 'record'>;
  clock: () => Date;
}): AlertsService {
  const found = async (alertId: string) => {
    const alert = await store.find(alertId);
    if (!alert) throw new NotFound('alert');
    return alert;
  };

  /** An acknowledged alert: the same reason is a replay, another one a conflict. */
  const replayed = (alert: Alert, reason: string): Alert => {
    if (alert.reason === reason) return alert;
    throw new Conflict(
      'INVALID_STATE_TRANSITION',
      'The alert was acknowledged for another reason.',
    );
  };

  return {
    async list(filter, context) {
      await accessLog.record({
        context,
        action: 'audit.read',
        purpose: 'security-review',
        outcome: 'SUCCESS',
        fields: [],
      });
      return store.list(filter);
    },

    async acknowledge(alertId, reason, context) {
      const alert = await found(alertId);
      if (alert.status === 'ACKNOWLEDGED') return replayed(alert, reason);
      await accessLog.record({
        context,
        action: 'audit.alert-ack',
        purpose: 'security-review',
        outcome: 'SUCCESS',
        resourceId: alertId,
        fields: [],
      });
      const at = clock();
      if (await store.acknowledge(alertId, { by: context.actor.clientId, at, reason })) {
        return {
          ...alert,
          status: 'ACKNOWLEDGED',
          acknowledgedBy: context.actor.clientId,
          acknowledgedAt: at,
          reason,
        };
      }
      // Another auditor acknowledged it meanwhile.
      return replayed(await found(alertId), reason);
    },
  };
}
