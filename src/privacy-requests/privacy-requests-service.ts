import { randomUUID } from 'node:crypto';
import { Conflict, NotFound, ValidationFailed } from '../errors';
import { dueDate } from './due-date';
import type {
  AnswerInput,
  ListPosition,
  ListQuery,
  PrivacyRequest,
  PrivacyRequestsStore,
  ReceivedRange,
  RecordInput,
  RegisterFilter,
  RegisterReport,
} from './privacy-requests-types';

/** How far ahead of this service's clock a caller's clock may run (as for orderedAt). */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A request as the register shows it: with whether it is OPEN past its due date now. */
export interface RegisteredRequest extends PrivacyRequest {
  overdue: boolean;
}

export interface PrivacyRequestsService {
  /** Records a request; `created` is false when the same request was recorded before. */
  record(input: RecordInput): Promise<{ request: RegisteredRequest; created: boolean }>;
  /** Answers an OPEN request once; the same answer again is a replay. */
  answer(requestId: string, input: AnswerInput): Promise<RegisteredRequest>;
  list(query: ListQuery): Promise<{ items: RegisteredRequest[]; next: string | null }>;
  report(range: ReceivedRange): Promise<RegisterReport>;
}

export function createPrivacyRequestsService({
  store,
  clock,
}: {
  store: PrivacyRequestsStore;
  clock: () => Date;
}): PrivacyRequestsService {
  const registered = (request: PrivacyRequest, now = clock()): RegisteredRequest => ({
    ...request,
    overdue: request.status === 'OPEN' && request.dueAt.getTime() < now.getTime(),
  });

  return {
    async record(input) {
      const now = clock();
      const receivedAt = input.receivedAt ?? now;
      if (receivedAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
        throw new ValidationFailed([{ path: 'receivedAt', message: 'must not be in the future' }]);
      }
      const request: PrivacyRequest = {
        requestId: randomUUID(),
        identityId: input.identityId,
        kind: input.kind,
        channel: input.channel ?? null,
        receivedAt,
        dueAt: dueDate(receivedAt),
        status: 'OPEN',
        outcome: null,
        answeredAt: null,
        answeredInTime: null,
        note: null,
      };
      if ((await store.insert(request)) === 'inserted') {
        return { request: registered(request, now), created: true };
      }
      return { request: registered(await sameReceipt(store, request), now), created: false };
    },

    async answer(requestId, input) {
      const now = clock();
      const request = await store.find(requestId);
      if (!request) throw new NotFound('privacy request');
      const answeredAt = input.answeredAt ?? maxDate(now, request.receivedAt);
      checkAnswerTime(answeredAt, request, now);
      const answered = await store.markAnswered(requestId, {
        outcome: input.outcome,
        answeredAt,
        answeredInTime: answeredAt.getTime() <= request.dueAt.getTime(),
        note: input.note ?? null,
      });
      if (answered) return registered(answered, now);
      // Not OPEN any more: answered before, by this answer (a replay) or another.
      const current = await store.find(requestId);
      if (current && isReplay(current, input)) return registered(current, now);
      throw new Conflict('INVALID_STATE_TRANSITION', 'The request has been answered already.');
    },

    async list(query) {
      const after = query.after === undefined ? null : decodeCursor(query.after);
      const now = clock();
      const page = await store.findPage(toFilter(query, now), after, query.limit + 1);
      const items = page.slice(0, query.limit);
      const last = items[items.length - 1];
      return {
        items: items.map((request) => registered(request, now)),
        next: page.length > query.limit && last ? encodeCursor(last) : null,
      };
    },

    report: (range) => store.tally(range, clock()),
  };
}

/** The request a duplicate insert collided with: the same relay sent again, or a conflict. */
async function sameReceipt(
  store: PrivacyRequestsStore,
  request: PrivacyRequest,
): Promise<PrivacyRequest> {
  const existing = await store.findByReceipt(request.identityId, request.kind, request.receivedAt);
  if (existing && existing.channel === request.channel) return existing;
  throw new Conflict(
    'CONFLICT',
    'A request of this kind from this identity received at this time is recorded with another channel.',
  );
}

function checkAnswerTime(answeredAt: Date, request: PrivacyRequest, now: Date): void {
  if (answeredAt.getTime() < request.receivedAt.getTime()) {
    throw new ValidationFailed([
      { path: 'answeredAt', message: 'must not be before the request was received' },
    ]);
  }
  if (answeredAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw new ValidationFailed([{ path: 'answeredAt', message: 'must not be in the future' }]);
  }
}

/** The stored answer is this one: same outcome and note, and the same time when one was given. */
function isReplay(request: PrivacyRequest, input: AnswerInput): boolean {
  return (
    request.status === 'ANSWERED' &&
    request.outcome === input.outcome &&
    request.note === (input.note ?? null) &&
    (input.answeredAt === undefined || request.answeredAt?.getTime() === input.answeredAt.getTime())
  );
}

function toFilter(query: ListQuery, now: Date): RegisterFilter {
  const range = { from: query.from, to: query.to };
  if (query.status === 'OVERDUE') return { ...range, overdueAt: now };
  return { ...range, status: query.status };
}

const maxDate = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

function encodeCursor(request: PrivacyRequest): string {
  return Buffer.from(
    JSON.stringify(['v1', request.receivedAt.getTime(), request.requestId]),
  ).toString('base64url');
}

/** The largest time a Date holds (ECMA-262 21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

function decodeCursor(cursor: string): ListPosition {
  try {
    const [version, at, requestId] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    ) as unknown[];
    if (
      version === 'v1' &&
      Number.isSafeInteger(at) &&
      Math.abs(at as number) <= MAX_DATE_MS &&
      typeof requestId === 'string' &&
      requestId.length <= 64
    ) {
      return { receivedAt: new Date(at as number), requestId };
    }
  } catch {
    // fall through: any undecodable cursor is the same error
  }
  throw new ValidationFailed([{ path: 'after', message: 'is not a valid cursor' }]);
}
