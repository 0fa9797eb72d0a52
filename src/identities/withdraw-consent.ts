import { NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import { IDENTITY_ACCESS } from './identity-access-events';
import { loadActive, type IdentityUseCaseDeps } from './identity-use-case-deps';

/**
 * What rests on the consent elsewhere is stopped by these: checkout gives
 * back the identity's unpaid reservations (and says which orders).
 */
export type ConsentWithdrawnListener = (identityId: string, at: Date) => Promise<string[]>;

export interface ConsentWithdrawal {
  identityId: string;
  consentWithdrawnAt: Date;
  /** Unpaid reservations given back, by order number. */
  releasedOrders: string[];
}

/**
 * Withdraws the person's consent (PIPL art. 15). What rests on it stops:
 * checkout refuses new orders (CONSENT_WITHDRAWN), unpaid reservations are
 * released, and the id-card photos, needed only for registration, are
 * erased. What was done before stands, and what the law requires to be kept
 * (the identity behind confirmed orders' declarations) is kept. A repeat
 * keeps the first time and runs the rest again, so a call that stopped half
 * way is finished by the next.
 */
export async function withdrawConsent(
  deps: IdentityUseCaseDeps & { onWithdrawn: readonly ConsentWithdrawnListener[] },
  ctx: RequestContext,
  identityId: string,
): Promise<ConsentWithdrawal> {
  const before = await loadActive(deps.store, identityId);
  const record = await deps.store.withdrawConsent(identityId, deps.now());
  if (!record?.consentWithdrawnAt) throw new NotFound('identity');
  const facts = { ...IDENTITY_ACCESS.withdrawConsent, identityId };
  await deps.events.written(ctx, facts, async () => {
    if (before.consentWithdrawnAt === null) await deps.store.restoreConsent(identityId);
  });
  await deps.store.deletePhotos(identityId);
  const releasedOrders: string[] = [];
  for (const listener of deps.onWithdrawn) {
    releasedOrders.push(...(await listener(identityId, record.consentWithdrawnAt)));
  }
  return { identityId, consentWithdrawnAt: record.consentWithdrawnAt, releasedOrders };
}
