import Joi from 'joi';
import {
  route,
  type ResponseDoc,
  type Role,
  type RouteDefinition,
  type RouteError,
} from '../http/route';
import {
  identifier,
  integerField,
  orderNumber,
  partnerCode,
  queryInteger,
  timestamp,
  clearText,
} from '../http/schemas';
import { fifteenDigitProblem } from '../identities/identity-number';
import {
  normalisePhone,
  PHONE_DESCRIPTION,
  PHONE_MAX_CHARS,
  phoneProblem,
} from '../identities/personal-fields';
import { positiveDecimal, toScaled } from '../products/exact-decimal';
import type { ParcelWeights } from '../products/products-types';
import type { CheckoutService } from './checkout-service';
import type { OrderLifecycleService } from './order-lifecycle-service';
import type { ReturnLine } from './order-returns';
import type { VerifyRequest } from './orders-types';
import type { QuotaService } from './quota-service';
import type { CbecPolicy } from './policy';

/**
 * All of checkout is the checkout role's, `return` included: the platform is
 * the party that files the return with customs (through its broker) and
 * receives the approval, so it is the one to report it; a broker's client
 * only acknowledges declarations. See docs/checkout-and-quota.md.
 */
const ROLES: readonly Role[] = ['checkout'];
const TAG = 'Checkout and quota';

const MAX_FEN = 100_000_000; // 1,000,000 yuan: far above any CBEC order, far below unsafe integers

const fen = integerField().min(0).max(MAX_FEN);
/** 100 litres a piece: above any retail bottle or cask, and qty x volume stays a safe integer. */
const MAX_VOLUME_ML = 100_000;

/** One piece's volume in ml: required where the category's consumption tax is per volume. */
function volumeField(volumeTaxed: string[]) {
  const field = integerField().min(1).max(MAX_VOLUME_ML);
  // An empty Joi.valid() would match every category: only a non-empty list makes it required.
  if (volumeTaxed.length === 0) return field.description("One piece's volume in ml");
  return field
    .when('category', { is: Joi.valid(...volumeTaxed), then: Joi.required() })
    .description(`One piece's volume in ml; required for ${volumeTaxed.join(', ')}`);
}

function verifySchema(policy: CbecPolicy) {
  return Joi.object<VerifyRequest>({
    orderNo: orderNumber().required(),
    identityId: Joi.string().uuid().required().description('The buyer (orderer, taxpayer)'),
    payer: Joi.object({
      name: Joi.string().trim().min(1).max(100).required(),
      idNumber: Joi.string()
        .custom((value: string, helpers) => {
          // A pre-1999 number gets the upgrade hint, not only "invalid format".
          const problem = fifteenDigitProblem(value);
          if (problem) return helpers.error('any.invalid', { safeMessage: problem });
          return EIGHTEEN_CHARACTERS.test(value)
            ? value
            : helpers.error('string.pattern.base', { regex: EIGHTEEN_CHARACTERS });
        })
        .required(),
    }).required(),
    items: Joi.array()
      .items(
        Joi.object({
          sku: identifier(SKU).required().description('At most 30 characters (CEB621 itemNo)'),
          name: clearText(200).required(),
          qty: integerField().min(1).max(9999).required(),
          unitPriceFen: fen.required(),
          category: Joi.string()
            .valid(...policy.categoryNames())
            .default(policy.defaultCategory),
          volumeMl: volumeField(policy.volumeTaxedCategories()),
        }),
      )
      .min(1)
      .max(100)
      .required(),
    freightFen: fen.required(),
    insuranceFen: fen.default(0),
    discountFen: fen
      .default(0)
      .description('Non-cash deduction; not subtracted from the taxable value'),
    orderedAt: timestamp().description('Default: now. Within the last 24 hours.'),
    consignee: Joi.object({
      name: Joi.string().trim().min(1).max(100).required(),
      phone: Joi.string()
        .max(PHONE_MAX_CHARS)
        .custom((value: string, helpers) => {
          const normalised = normalisePhone(value);
          const problem = phoneProblem(normalised);
          return problem ? helpers.error('any.invalid', { safeMessage: problem }) : normalised;
        })
        .description(PHONE_DESCRIPTION)
        .required(),
      address: Joi.string()
        .trim()
        .min(1)
        .max(200)
        .required()
        .description('At most 200 characters (CEB621 consigneeAddress)'),
    }).required(),
    customsCode: partnerCode().required().description("The customs broker's partner code"),
    carrierCode: partnerCode().required().description("The carrier's partner code"),
  });
}

const quotaView = Joi.object({
  year: Joi.number().integer(),
  limitFen: Joi.number().integer(),
  usedFen: Joi.number().integer(),
  reservedFen: Joi.number().integer(),
  remainingFen: Joi.number().integer(),
});

const verifyView = Joi.object({
  orderNo: Joi.string(),
  decision: Joi.string().valid('APPROVED', 'REJECTED'),
  reasons: Joi.array().items(Joi.object({ code: Joi.string(), message: Joi.string() })),
  quota: quotaView,
  quotaSource: Joi.string().valid('LOCAL', 'CUSTOMS'),
  tax: Joi.object({
    taxableFen: Joi.number().integer(),
    tariffFen: Joi.number().integer(),
    vatFen: Joi.number().integer(),
    consumptionTaxFen: Joi.number().integer(),
    totalTaxFen: Joi.number().integer(),
  }),
});

const orderParams = Joi.object<{ orderNo: string }>({ orderNo: orderNumber().required() });
const statusView = (status: string) =>
  Joi.object({ orderNo: Joi.string(), status: Joi.string().valid(status) });
const transitionErrors = {
  404: { description: 'NOT_FOUND: no such order' },
  409: { description: 'INVALID_STATE_TRANSITION: not allowed from the current status' },
};
/** The codes behind transitionErrors, and the ledger's busy answer (ledger-service.ts). */
const transitionCodes: RouteError[] = [
  { status: 409, code: 'INVALID_STATE_TRANSITION' },
  { status: 503, code: 'SERVICE_UNAVAILABLE', when: 'the quota ledger is busy; retry' },
];

export function quotaRoutes({
  checkout,
  lifecycle,
  quota,
  policy,
}: {
  checkout: CheckoutService;
  lifecycle: OrderLifecycleService;
  quota: QuotaService;
  policy: CbecPolicy;
}): RouteDefinition[] {
  return [
    verifyRoute(checkout, policy),
    confirmRoute(lifecycle),
    transitionRoute({
      action: 'cancel',
      summary: 'Cancel before customs accepted the declaration; releases the quota',
      status: 'CANCELLED',
      description: 'Cancelled',
      move: (orderNo) => lifecycle.cancel(orderNo),
    }),
    returnRoute(lifecycle),
    quotaRoute(quota),
  ];
}

/** docs/checkout-and-quota.md's order: synthetic buyer, RMB 159.80 of goods after discount. */
const VERIFY_EXAMPLE = {
  orderNo: 'SO-20261125-0001',
  identityId: '5b0e8a52-7c1d-4f0a-9a63-1f2d3c4b5a69',
  payer: { name: '王小明', idNumber: '11010519491231002X' },
  items: [
    { sku: 'MILK-900', name: 'Milk powder 900g', qty: 2, unitPriceFen: 5990 },
    { sku: 'CREAM-50', name: 'Face cream 50ml', qty: 1, unitPriceFen: 3500 },
  ],
  freightFen: 500,
  discountFen: 1000,
  consignee: { name: '王小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号' },
  customsCode: '3120980001',
  carrierCode: 'SF',
};
const VERIFY_ANSWER_EXAMPLE = {
  orderNo: 'SO-20261125-0001',
  decision: 'APPROVED',
  reasons: [],
  quota: { year: 2026, limitFen: 2600000, usedFen: 0, reservedFen: 15980, remainingFen: 2584020 },
  quotaSource: 'LOCAL',
  tax: { taxableFen: 15980, tariffFen: 0, vatFen: 1512, consumptionTaxFen: 446, totalTaxFen: 1958 },
};

function verifyRoute(checkout: CheckoutService, policy: CbecPolicy): RouteDefinition {
  return route({
    method: 'post',
    path: '/v1/checkout/verify',
    summary: 'Verify buyer, payer, quota and tax; approval reserves the taxable value',
    tag: TAG,
    roles: ROLES,
    body: verifySchema(policy),
    bodyExample: VERIFY_EXAMPLE,
    personalData: {
      action: 'checkout.verify',
      fields: [
        'payer.name',
        'payer.idNumber',
        'consignee.name',
        'consignee.phone',
        'consignee.address',
      ],
    },
    responses: {
      200: {
        description: 'APPROVED or REJECTED with reasons',
        schema: verifyView,
        example: VERIFY_ANSWER_EXAMPLE,
      },
      409: { description: 'ORDER_CONFLICT: this orderNo was verified with a different body' },
    },
    errors: [
      { status: 409, code: 'ORDER_CONFLICT' },
      { status: 503, code: 'SERVICE_UNAVAILABLE', when: 'the quota ledger is busy; retry' },
    ],
    async handler(_req, res, { input, request }) {
      res.json(await checkout.verify(input.body, request));
    },
  });
}

/** The parcel's weights: gross (with packaging) can never be below net. */
const parcelBody = Joi.object<{ parcel?: ParcelWeights }>({
  parcel: Joi.object<ParcelWeights>({
    grossWeightKg: positiveDecimal().required(),
    netWeightKg: positiveDecimal().required(),
  })
    .custom((parcel: ParcelWeights, helpers) =>
      toScaled(parcel.grossWeightKg)! < toScaled(parcel.netWeightKg)!
        ? helpers.error('any.invalid', { safeMessage: 'grossWeightKg must be >= netWeightKg' })
        : parcel,
    )
    .description(
      'The weighed parcel in kg (CEB621 grossWeight, netWeight). Default: net = the sum of qty x netWeightKg of the catalogued products, gross = net',
    ),
});

/** POST /v1/orders/:orderNo/confirm: payment done; every SKU must be catalogued. */
function confirmRoute(lifecycle: OrderLifecycleService): RouteDefinition {
  return route({
    method: 'post',
    path: '/v1/orders/:orderNo/confirm',
    summary: 'Payment done: the reservation becomes used quota; declaration and shipment READY',
    tag: TAG,
    roles: ROLES,
    params: orderParams,
    body: parcelBody,
    bodyOptional: true,
    responses: {
      200: { description: 'Confirmed', schema: statusView('CONFIRMED') },
      ...transitionErrors,
      422: {
        description:
          'PRODUCT_DATA_MISSING: an item is not catalogued (details name each line, items.<i>.sku); nothing changed',
      },
    },
    errors: [...transitionCodes, { status: 422, code: 'PRODUCT_DATA_MISSING' }],
    async handler(_req, res, { input }) {
      res.json(await lifecycle.confirm(input.params.orderNo, input.body.parcel ?? null));
    },
  });
}

/** POST /v1/orders/:orderNo/<action>: one lifecycle step, answered with the new status. */
function transitionRoute(step: {
  action: 'cancel' | 'return';
  summary: string;
  status: string;
  description: string;
  errors?: Record<number, ResponseDoc>;
  move(orderNo: string): Promise<{ orderNo: string; status: string }>;
}): RouteDefinition {
  return route({
    method: 'post',
    path: `/v1/orders/:orderNo/${step.action}`,
    summary: step.summary,
    tag: TAG,
    roles: ROLES,
    params: orderParams,
    responses: {
      200: { description: step.description, schema: statusView(step.status) },
      ...transitionErrors,
      ...step.errors,
    },
    errors: transitionCodes,
    async handler(_req, res, { input }) {
      res.json(await step.move(input.params.orderNo));
    },
  });
}

/** A SKU is the CEB621 itemNo: at most 30 characters. */
const SKU = /^[A-Za-z0-9._-]{1,30}$/;
/** A payer's id number: checked as the buyer's was (blind index), so only its shape here. */
const EIGHTEEN_CHARACTERS = /^\d{17}[\dXx]$/;

const returnBody = Joi.object<{ items?: ReturnLine[] }>({
  items: Joi.array()
    .items(
      Joi.object({
        sku: identifier(SKU).required(),
        qty: integerField().min(1).max(10_000).required(),
      }),
    )
    .min(1)
    .max(200)
    .unique('sku')
    .description('Pieces returned; default: every piece not yet returned'),
});

const returnView = Joi.object({
  orderNo: Joi.string(),
  status: Joi.string().valid('RETURNED', 'PARTIALLY_RETURNED'),
  returned: Joi.array()
    .items(Joi.object({ sku: Joi.string(), qty: Joi.number().integer() }))
    .description('Every piece returned so far, by SKU'),
  restoredFen: Joi.number()
    .integer()
    .description("Taxable value given back to the buyer's allowance by the returns so far"),
});

/** POST /v1/orders/:orderNo/return: some or all pieces, judged now against the return window. */
function returnRoute(lifecycle: OrderLifecycleService): RouteDefinition {
  return route({
    method: 'post',
    path: '/v1/orders/:orderNo/return',
    summary:
      "A customs-approved return within 30 days of release, by item; the returned pieces' share of the taxable value goes back to the quota",
    tag: TAG,
    roles: ROLES,
    params: orderParams,
    body: returnBody,
    bodyOptional: true,
    responses: {
      200: { description: 'Returned in part or whole', schema: returnView },
      ...transitionErrors,
      422: {
        description:
          'RETURN_WINDOW_CLOSED: more than 30 days after customs release; RETURN_EXCEEDS_ORDER: more pieces than are left to return',
      },
    },
    errors: [
      ...transitionCodes,
      { status: 422, code: 'RETURN_WINDOW_CLOSED' },
      { status: 422, code: 'RETURN_EXCEEDS_ORDER' },
    ],
    async handler(_req, res, { input }) {
      res.json(await lifecycle.returnOrder(input.params.orderNo, input.body.items ?? null));
    },
  });
}

function quotaRoute(quota: QuotaService): RouteDefinition {
  return route({
    method: 'get',
    path: '/v1/identities/:identityId/quota',
    summary: "The buyer's annual quota for a year (default: this year in Beijing time)",
    tag: TAG,
    roles: ROLES,
    params: Joi.object<{ identityId: string }>({ identityId: Joi.string().uuid().required() }),
    query: Joi.object<{ year?: number }>({ year: queryInteger().min(2016).max(2100) }),
    responses: {
      200: { description: 'Quota', schema: quotaView },
      404: { description: 'NOT_FOUND' },
    },
    personalData: { action: 'quota.read', fields: ['quota'] },
    async handler(_req, res, { input, request }) {
      res.json(await quota.get(request, input.params.identityId, input.query.year));
    },
  });
}
