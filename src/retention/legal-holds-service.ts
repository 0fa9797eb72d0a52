import type { AccessLog } from '../audit/audit-types';
import { aadOf, open, seal } from '../crypto/aead';
import type { Keyring } from '../crypto/keyring';
import { DecryptionFailed, NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { ErasureHold, HeldBuyer } from '../identities/legal-hold-port';
import type { OrdersOfPerson } from '../identities/export-ports';
import {
  HOLD_BASIS,
  type LegalHoldSummary,
  type LegalHoldsStore,
  type LegalRequestType,
  type HoldStatus,
  type OrderActivity,
  type OrderActivityOf,
  type RetainedData,
} from './retention-types';

/** The fields a hold's disclosure reads: its access-log event names them. */
export const HOLD_READ = {
  action: 'identity.legal-hold-read',
  purpose: 'legal-request',
  fields: ['name', 'idNumber', 'phone', 'consignee.name', 'consignee.phone', 'consignee.address'],
} as const;

const FORMAT = 'lr1';

export interface LegalRequest {
  requestType: LegalRequestType;
  requestedBy: string;
  reference: string;
  reason: string;
}

export interface LegalHoldsService extends ErasureHold {
  /** What a hold for this identity would cover, or null when it has no transaction record. */
  plan(identityId: string, now: Date): Promise<{ orderNos: string[]; heldUntil: Date } | null>;
  disclose(
    ctx: RequestContext,
    holdId: string,
    request: LegalRequest,
  ): Promise<{ holdId: string; heldUntil: Date; data: RetainedData }>;
  list(filter: { identityId?: string; status?: HoldStatus }): Promise<LegalHoldSummary[]>;
}

export interface LegalHoldsDeps {
  store: LegalHoldsStore;
  keyring: Pick<Keyring, 'retentionKey' | 'retentionKeyVersion'>;
  orders: OrdersOfPerson;
  activity: OrderActivityOf;
  accessLog: AccessLog;
  transactionYears: number;
  clock: () => Date;
}

/** One hold per identity: its id is derived from the identity's, so a retry finds it. */
const holdIdOf = (identityId: string) => `hold-${identityId}`;

/** A transaction record: an order that was confirmed (paid), whatever came after. */
const isTransaction = (order: OrderActivity) => order.confirmedAt !== null;

/**
 * Completion: the customs release, else (cancelled, rejected) the confirm; an
 * order still under way completes no earlier than now (conservative).
 */
function completionOf(order: OrderActivity, now: Date): Date {
  if (order.releasedAt) return order.releasedAt;
  if (order.status === 'CONFIRMED' || !order.confirmedAt) return now;
  return order.confirmedAt;
}

function addYears(at: Date, years: number): Date {
  const result = new Date(at.getTime());
  result.setUTCFullYear(result.getUTCFullYear() + years);
  return result;
}

const aadFor = (holdId: string, keyVersion: number) =>
  aadOf([FORMAT, 'legal_holds', holdId, keyVersion]);

function sealData(key: Buffer, holdId: string, keyVersion: number, data: RetainedData): string {
  const sealed = seal(key, Buffer.from(JSON.stringify(data), 'utf8'), aadFor(holdId, keyVersion));
  const parts = [sealed.nonce, sealed.ciphertext, sealed.tag].map((b) => b.toString('base64url'));
  return [FORMAT, ...parts].join('.');
}

function openData(key: Buffer, holdId: string, keyVersion: number, text: string): RetainedData {
  const [format, nonce, ciphertext, tag, extra] = text.split('.');
  if (format !== FORMAT || !nonce || ciphertext === undefined || !tag || extra !== undefined) {
    throw new DecryptionFailed();
  }
  const plain = open(
    key,
    {
      nonce: Buffer.from(nonce, 'base64url'),
      ciphertext: Buffer.from(ciphertext, 'base64url'),
      tag: Buffer.from(tag, 'base64url'),
    },
    aadFor(holdId, keyVersion),
  );
  return JSON.parse(plain.toString('utf8')) as RetainedData;
}

export function createLegalHoldsService(deps: LegalHoldsDeps): LegalHoldsService {
  async function plan(identityId: string, now: Date) {
    const transactions = (await deps.activity.ofIdentity(identityId)).filter(isTransaction);
    if (transactions.length === 0) return null;
    const completed = Math.max(...transactions.map((order) => completionOf(order, now).getTime()));
    return {
      orderNos: transactions.map((order) => order.orderNo),
      heldUntil: addYears(new Date(completed), deps.transactionYears),
    };
  }

  return {
    plan,

    async retain({ identityId, personRef, readBuyer }) {
      const holdId = holdIdOf(identityId);
      if (await deps.store.findById(holdId)) return 'kept';
      const now = deps.clock();
      const planned = await plan(identityId, now);
      if (!planned) return 'none';
      const held = new Set(planned.orderNos);
      const buyer: HeldBuyer = await readBuyer();
      const orders = (await deps.orders.listForIdentity(identityId))
        .filter((order) => held.has(order.orderNo))
        .map(({ orderNo, consignee, items, amounts, status }) => ({
          orderNo,
          consignee,
          items,
          amounts,
          status,
        }));
      const { version, key } = deps.keyring.retentionKey();
      const outcome = await deps.store.insertOrKeep({
        holdId,
        identityId,
        personRef,
        orderNos: planned.orderNos,
        basis: HOLD_BASIS,
        heldFrom: now,
        heldUntil: planned.heldUntil,
        keyVersion: version,
        sealed: sealData(key, holdId, version, { buyer, orders }),
        status: 'HELD',
        destroyedAt: null,
        accessRequests: [],
      });
      return outcome === 'inserted' ? 'held' : 'kept';
    },

    async disclose(ctx, holdId, request) {
      const hold = await deps.store.findById(holdId);
      // A destroyed hold is as gone as one that never was: nothing of it can be read.
      if (!hold || hold.status !== 'HELD' || !hold.sealed) throw new NotFound('legal hold');
      const key = deps.keyring.retentionKeyVersion(hold.keyVersion);
      if (!key) throw new DecryptionFailed();
      const data = openData(key, holdId, hold.keyVersion, hold.sealed);
      const recorded = await deps.store.appendRequest(holdId, {
        ...request,
        clientId: ctx.actor.clientId,
        at: deps.clock(),
      });
      if (!recorded) throw new NotFound('legal hold');
      // Recorded before anything is returned: a refused event means no data (fail closed).
      await deps.accessLog.record({
        context: ctx,
        action: HOLD_READ.action,
        purpose: HOLD_READ.purpose,
        outcome: 'SUCCESS',
        identityId: hold.identityId,
        resourceId: holdId,
        fields: HOLD_READ.fields,
      });
      return { holdId, heldUntil: hold.heldUntil, data };
    },

    list: (filter) => deps.store.list(filter),
  };
}
