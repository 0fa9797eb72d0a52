import {
  checkoutDecision,
  eligibilityReasons,
  fitsAllowance,
  orderedAtAcceptable,
  unknownBuyerDecision,
  type DecisionFacts,
} from '../src/quota/checkout-rules';

/** The checkout rules that need no I/O: time window, eligibility, allowance, the answer. */

const now = new Date('2026-06-01T04:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const codes = (reasons: { code: string }[]) => reasons.map((r) => r.code);

describe('the orderedAt window', () => {
  it.each([
    ['exactly 24 hours ago', -DAY, true],
    ['24 hours and 1 ms ago', -DAY - 1, false],
    ['now', 0, true],
    ['exactly 5 minutes ahead', 5 * MINUTE, true],
    ['5 minutes and 1 ms ahead', 5 * MINUTE + 1, false],
  ])('when orderedAt is %s, then acceptable is %s', (_label, offset, acceptable) => {
    expect(orderedAtAcceptable(new Date(now.getTime() + offset), now)).toBe(acceptable);
  });
});

describe('eligibility', () => {
  const verified = {
    verificationStatus: 'VERIFIED' as const,
    consentRecorded: true,
    consentWithdrawn: false,
  };

  it('when the buyer is verified, consented, pays and the order is within the limit, then no reasons', () => {
    expect(eligibilityReasons(verified, true, { overPerOrderLimit: false })).toEqual([]);
  });

  it('when everything fails, then every reason is listed in the contract order', () => {
    const reasons = eligibilityReasons(
      { verificationStatus: 'MISMATCH', consentRecorded: false, consentWithdrawn: false },
      false,
      { overPerOrderLimit: true },
    );
    expect(codes(reasons)).toEqual([
      'IDENTITY_NOT_VERIFIED',
      'CONSENT_REQUIRED',
      'PAYER_MISMATCH',
      'SINGLE_LIMIT_EXCEEDED',
    ]);
  });

  it('when the buyer withdrew consent, then CONSENT_WITHDRAWN', () => {
    const reasons = eligibilityReasons({ ...verified, consentWithdrawn: true }, true, {
      overPerOrderLimit: false,
    });
    expect(codes(reasons)).toEqual(['CONSENT_WITHDRAWN']);
  });

  it('when the national check never completed, then IDENTITY_NOT_VERIFIED', () => {
    const reasons = eligibilityReasons({ ...verified, verificationStatus: 'UNVERIFIED' }, true, {
      overPerOrderLimit: false,
    });
    expect(codes(reasons)).toEqual(['IDENTITY_NOT_VERIFIED']);
  });

  it('when a reason is given, then it carries a fixed message', () => {
    const [reason] = eligibilityReasons(verified, false, { overPerOrderLimit: false });
    expect(reason).toEqual({ code: 'PAYER_MISMATCH', message: 'The payer is not the buyer.' });
  });
});

describe('the annual allowance', () => {
  it.each([
    ['exactly what remains locally', 500, 500, null, true],
    ['one fen more than remains locally', 501, 500, null, false],
    ['within the ledger but over what customs has left', 400, 500, 399, false],
    ['exactly what customs has left', 400, 500, 400, true],
    ['within customs but over the ledger', 400, 399, 1000, false],
  ])('when the order takes %s, then fits is %s', (_label, amount, local, customs, fits) => {
    expect(fitsAllowance(amount, local, customs)).toBe(fits);
  });
});

describe('the verify answer', () => {
  const tax = {
    taxableFen: 10_000,
    tariffFen: 0,
    vatFen: 910,
    consumptionTaxFen: 0,
    totalTaxFen: 910,
  };
  const facts: DecisionFacts = {
    orderNo: 'SO-1',
    figures: { quotaYear: 2026, taxableFen: 10_000, tax },
    reasons: [],
    approved: true,
    balances: { limitFen: 2_600_000, usedFen: 0, reservedFen: 10_000, remainingFen: 2_590_000 },
    customsRemainingFen: null,
  };

  it('when an eligible order is approved, then APPROVED with no reasons and the ledger figures', () => {
    expect(checkoutDecision(facts)).toEqual({
      orderNo: 'SO-1',
      decision: 'APPROVED',
      reasons: [],
      quota: {
        year: 2026,
        limitFen: 2_600_000,
        usedFen: 0,
        reservedFen: 10_000,
        remainingFen: 2_590_000,
      },
      quotaSource: 'LOCAL',
      tax,
    });
  });

  it('when an eligible order is not approved, then it failed the annual check: ANNUAL_LIMIT_EXCEEDED', () => {
    const decision = checkoutDecision({ ...facts, approved: false });
    expect(decision.decision).toBe('REJECTED');
    expect(codes(decision.reasons)).toEqual(['ANNUAL_LIMIT_EXCEEDED']);
  });

  it('when a rule refused the order, then only its reasons are given, not ANNUAL_LIMIT_EXCEEDED', () => {
    const reasons = eligibilityReasons(
      { verificationStatus: 'VERIFIED', consentRecorded: true, consentWithdrawn: false },
      false,
      { overPerOrderLimit: false },
    );
    const decision = checkoutDecision({ ...facts, reasons, approved: false });
    expect(codes(decision.reasons)).toEqual(['PAYER_MISMATCH']);
  });

  it('when customs has less left than the ledger, then remaining is what customs has left after this order', () => {
    const decision = checkoutDecision({ ...facts, customsRemainingFen: 50_000 });
    expect(decision.quotaSource).toBe('CUSTOMS');
    expect(decision.quota.remainingFen).toBe(40_000);
  });

  it('when customs has more left than the ledger, then remaining is the ledger figure', () => {
    const decision = checkoutDecision({ ...facts, customsRemainingFen: 9_000_000 });
    expect(decision.quotaSource).toBe('CUSTOMS');
    expect(decision.quota.remainingFen).toBe(2_590_000);
  });

  it('when customs answered and the order was rejected, then nothing is taken off the customs figure', () => {
    const decision = checkoutDecision({ ...facts, approved: false, customsRemainingFen: 5_000 });
    expect(decision.quota.remainingFen).toBe(5_000);
  });

  it('when the identity is unknown, then REJECTED with IDENTITY_NOT_FOUND and the local figures', () => {
    const decision = unknownBuyerDecision('SO-2', facts.figures, facts.balances);
    expect(decision).toMatchObject({
      orderNo: 'SO-2',
      decision: 'REJECTED',
      quota: { year: 2026, remainingFen: 2_590_000 },
      quotaSource: 'LOCAL',
    });
    expect(codes(decision.reasons)).toEqual(['IDENTITY_NOT_FOUND']);
  });
});
