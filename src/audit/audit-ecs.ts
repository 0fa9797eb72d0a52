import { isIP } from 'node:net';
import type { AuditEventRecord } from './audit-chain';

/** Namespace of the service's own (non-ECS) fields in exported documents. */
export const ECS_NAMESPACE = 'customs_identity';

const ECS_OUTCOME = { SUCCESS: 'success', DENIED: 'failure', FAILED: 'failure' } as const;

/**
 * One event as an Elastic Common Schema document (ECS 8.x field names), for a
 * SIEM. ECS has no field for the subject, the personal fields touched, the
 * purpose or the hash chain, so those live under `customs_identity.*`.
 */
export function toEcs(event: AuditEventRecord): Record<string, unknown> {
  // Tolerates malformed (tampered) documents: they are exported as found.
  return {
    '@timestamp': event.at instanceof Date ? event.at.toISOString() : null,
    ecs: { version: '8.11.0' },
    event: {
      kind: 'event',
      category: ['database'],
      type: ['access'],
      dataset: `${ECS_NAMESPACE}.access`,
      id: `${event.stream}:${event.seq}`,
      action: event.action,
      outcome: ECS_OUTCOME[event.outcome] ?? 'unknown',
      reason: event.outcome,
      sequence: event.seq,
      ...(event.repeat
        ? { start: isoOf(event.repeat.firstAt), end: isoOf(event.repeat.lastAt) }
        : {}),
      hash: event.hash,
    },
    user: event.actor
      ? { id: event.actor.clientId, roles: [event.actor.role] }
      : { roles: [] as string[] },
    ...(event.actor?.partnerCode ? { organization: { id: event.actor.partnerCode } } : {}),
    ...(typeof event.sourceIp === 'string' && isIP(event.sourceIp)
      ? { source: { ip: event.sourceIp } }
      : {}),
    http: { request: { id: event.requestId } },
    url: { path: event.resource?.route },
    [ECS_NAMESPACE]: {
      outcome: event.outcome,
      purpose: event.purpose,
      subject_ref: event.subjectRef,
      subject_ref_key_id: event.subjectRefKeyId,
      fields: event.fields,
      resource: { id: event.resource?.id },
      ...(event.repeat ? { repeat: repeatOf(event.repeat) } : {}),
      ...(event.transfer ? { transfer: event.transfer } : {}),
      ...(event.counts ? { counts: event.counts } : {}),
      chain: {
        stream: event.stream,
        seq: event.seq,
        prev_hash: event.prevHash,
        hash: event.hash,
        version: event.v,
      },
    },
  };
}

const isoOf = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

function repeatOf(repeat: NonNullable<AuditEventRecord['repeat']>) {
  return { count: repeat.count, first_at: isoOf(repeat.firstAt), last_at: isoOf(repeat.lastAt) };
}
