/**
 * The register of a person's requests about their personal data (PIPL arts.
 * 44-47 and 15): what was asked, when it arrived, when the answer is due, and
 * how and when it was answered. The privacy office's own record: it holds the
 * internal identity id (not personal data by itself), never a name, id number
 * or phone. See docs/privacy-requests.md.
 */

export const REQUEST_KINDS = [
  'ACCESS',
  'COPY',
  'CORRECTION',
  'DELETION',
  'CONSENT_WITHDRAWAL',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** How the person reached the platform; null when the platform did not say. */
export const REQUEST_CHANNELS = ['APP', 'EMAIL', 'PHONE', 'OTHER'] as const;
export type RequestChannel = (typeof REQUEST_CHANNELS)[number];

export const REQUEST_OUTCOMES = ['FULFILLED', 'PARTIALLY_FULFILLED', 'REFUSED'] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** Stored states: a request is OPEN until it is answered, once. */
export const REQUEST_STATUSES = ['OPEN', 'ANSWERED'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** What a list may filter on: OVERDUE is OPEN past its due date, judged when read. */
export const LIST_STATUSES = [...REQUEST_STATUSES, 'OVERDUE'] as const;
export type ListStatus = (typeof LIST_STATUSES)[number];

/** One request as stored and answered. */
export interface PrivacyRequest {
  requestId: string;
  identityId: string;
  kind: RequestKind;
  channel: RequestChannel | null;
  receivedAt: Date;
  /** The last instant of the answer period (docs/privacy-requests.md, "Due date"). */
  dueAt: Date;
  status: RequestStatus;
  outcome: RequestOutcome | null;
  answeredAt: Date | null;
  /** answeredAt <= dueAt, fixed when answered; null while open. */
  answeredInTime: boolean | null;
  note: string | null;
}

/** What `POST /v1/privacy-requests` carries, after validation. */
export interface RecordInput {
  identityId: string;
  kind: RequestKind;
  receivedAt?: Date;
  channel?: RequestChannel;
}

/** What `POST /v1/privacy-requests/{requestId}/answer` carries, after validation. */
export interface AnswerInput {
  outcome: RequestOutcome;
  answeredAt?: Date;
  note?: string;
}

/** The answer as written onto an OPEN request. */
export interface Answer {
  outcome: RequestOutcome;
  answeredAt: Date;
  answeredInTime: boolean;
  note: string | null;
}

/** Requests received in [from, to) (either bound may be absent). */
export interface ReceivedRange {
  from?: Date;
  to?: Date;
}

/** A store filter: a stored status, or OPEN and due before `overdueAt`. */
export interface RegisterFilter extends ReceivedRange {
  status?: RequestStatus;
  /** OPEN with dueAt < this instant. */
  overdueAt?: Date;
}

/** Where a page ends: the list order is (receivedAt, requestId). */
export interface ListPosition {
  receivedAt: Date;
  requestId: string;
}

export interface ListQuery extends ReceivedRange {
  status?: ListStatus;
  limit: number;
  /** Opaque cursor: `next` of the previous page. */
  after?: string;
}

export interface RegisterReport {
  received: number;
  answered: number;
  answeredInTime: number;
  answeredLate: number;
  open: number;
  overdue: number;
}

/** What the overdue check found at `now`. */
export interface OverdueCheck {
  open: number;
  overdue: number;
  /** Requests that became overdue since the last check (each alerted once, across instances). */
  newlyOverdue: number;
}

/** Persistence of the register; plain values in, plain values out. */
export interface PrivacyRequestsStore {
  /** Inserts a new request; 'duplicate' when the same person's request of that kind at that instant exists. */
  insert(request: PrivacyRequest): Promise<'inserted' | 'duplicate'>;
  findByReceipt(
    identityId: string,
    kind: RequestKind,
    receivedAt: Date,
  ): Promise<PrivacyRequest | null>;
  find(requestId: string): Promise<PrivacyRequest | null>;
  /** OPEN -> ANSWERED in one conditional write; null when the request was not OPEN. */
  markAnswered(requestId: string, answer: Answer): Promise<PrivacyRequest | null>;
  /** Up to `limit` requests after `after`, in (receivedAt, requestId) order. */
  findPage(
    filter: RegisterFilter,
    after: ListPosition | null,
    limit: number,
  ): Promise<PrivacyRequest[]>;
  /** The report's tally over the requests received in the range, judged overdue at `now`. */
  tally(range: ReceivedRange, now: Date): Promise<RegisterReport>;
  count(filter: RegisterFilter): Promise<number>;
  /** OPEN requests due before `now` whose overdue alert has not been raised yet. */
  findUnalertedOverdue(
    now: Date,
    limit: number,
  ): Promise<Pick<PrivacyRequest, 'requestId' | 'kind'>[]>;
  /** Claims the overdue alert of one request; false when another check raised it already. */
  claimOverdueAlert(requestId: string, at: Date): Promise<boolean>;
  ensureIndexes(): Promise<void>;
}
