import Joi from 'joi';
import { route, type RouteDefinition } from '../http/route';
import { clearText, timestamp } from '../http/schemas';
import { ALERT_RULES, ALERT_STATUSES, type Alert, type AlertFilter } from './alert-types';
import type { AlertsService } from './alerts-service';

const AUDITOR = ['auditor'] as const;
const TAG = 'Access log';

/** Alerts name their actors and source addresses: reading or refusing them is logged. */
const personalData = (action: 'audit.read' | 'audit.alert-ack') => ({
  action,
  fields: [] as const,
});

const listQuery = Joi.object<AlertFilter>({
  from: timestamp().description('Alerts whose window ends after this'),
  to: timestamp().description('Alerts whose window starts before this'),
  status: Joi.string().valid(...ALERT_STATUSES),
  limit: Joi.number().integer().min(1).max(1000).default(500),
});

const alertParams = Joi.object<{ alertId: string }>({
  alertId: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{22}$/)
    .required(),
});

const acknowledgeBody = Joi.object<{ reason: string }>({
  reason: clearText(500)
    .required()
    .description("The auditor's reason, shown in clear: no personal data"),
});

const alertSchema = Joi.object({
  alertId: Joi.string(),
  rule: Joi.string().valid(...ALERT_RULES),
  actor: Joi.string().description(
    'Client id; `ip:<address>` for refusals before authentication; `system` for the log itself',
  ),
  count: Joi.number().integer().min(1),
  windowStart: Joi.date().iso(),
  windowEnd: Joi.date().iso(),
  firstAt: Joi.date().iso(),
  lastAt: Joi.date().iso(),
  status: Joi.string().valid(...ALERT_STATUSES),
  acknowledgedBy: Joi.string().allow(null).description('Client id of the acknowledging auditor'),
  acknowledgedAt: Joi.date().iso().allow(null),
  reason: Joi.string().allow(null),
});

function alertView(alert: Alert) {
  return {
    alertId: alert.alertId,
    rule: alert.rule,
    actor: alert.actor,
    count: alert.count,
    windowStart: alert.windowStart.toISOString(),
    windowEnd: alert.windowEnd.toISOString(),
    firstAt: alert.firstAt.toISOString(),
    lastAt: alert.lastAt.toISOString(),
    status: alert.status,
    acknowledgedBy: alert.acknowledgedBy,
    acknowledgedAt: alert.acknowledgedAt?.toISOString() ?? null,
    reason: alert.reason,
  };
}

export function alertsRoutes(alerts: AlertsService): RouteDefinition[] {
  return [
    route({
      method: 'get',
      path: '/v1/audit-alerts',
      summary: 'Security alerts raised from the access log (docs/access-log.md, "Alerts")',
      tag: TAG,
      roles: AUDITOR,
      query: listQuery,
      personalData: personalData('audit.read'),
      responses: {
        200: {
          description: 'Alerts, oldest window first',
          schema: Joi.object({ items: Joi.array().items(alertSchema) }),
        },
        503: { description: 'The read could not be recorded; nothing is returned' },
      },
      async handler(_req, res, { input, request }) {
        const items = await alerts.list(input.query, request);
        res.json({ items: items.map(alertView) });
      },
    }),
    route({
      method: 'post',
      path: '/v1/audit-alerts/:alertId/acknowledge',
      summary: 'Acknowledge an alert, with a reason; recorded as an access-log event',
      tag: TAG,
      roles: AUDITOR,
      params: alertParams,
      body: acknowledgeBody,
      personalData: personalData('audit.alert-ack'),
      responses: {
        200: {
          description: 'ACKNOWLEDGED (also for the same reason sent again)',
          schema: alertSchema,
        },
        404: { description: 'No such alert' },
        409: { description: 'Already acknowledged for another reason' },
        503: { description: 'The acknowledgement could not be recorded; nothing changed' },
      },
      errors: [{ status: 409, code: 'INVALID_STATE_TRANSITION' }],
      async handler(_req, res, { input, request }) {
        res.json(
          alertView(await alerts.acknowledge(input.params.alertId, input.body.reason, request)),
        );
      },
    }),
  ];
}
