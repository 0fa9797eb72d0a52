import { checkCharacter } from '../src/identities/identity-number';

/**
 * The demo's fictional world: five API clients, a handful of buyers, a
 * catalogue and their orders. Everything is constant, so a second run asks
 * for exactly the same things and the service's own idempotency (same
 * userId + idNumber, same verify body, replayed acks) keeps it from
 * duplicating anything.
 *
 * Nothing here can be a real person's:
 * - names start with 演示 ("demo");
 * - id numbers carry a correct check character but the division code 1199xx,
 *   which no GB/T 2260 revision has ever assigned (the service accepts it and
 *   flags the record UNKNOWN_DIVISION_CODE);
 * - phones are in +1 NXX-555-0100..0199, reserved by the NANP for fiction;
 * - addresses are on a made-up 演示路.
 */

/** Names of everything the demo creates start with this: the guard tells demo data apart by it. */
export const DEMO_PREFIX = 'demo-';
export const DEMO_SKU_PREFIX = 'DEMO-';

/** The five roles besides the bootstrap admin (`ROLES` in src/http/route.ts). */
export const DEMO_ROLES = ['checkout', 'customs', 'carrier', 'auditor', 'legal'] as const;
export type DemoRole = (typeof DEMO_ROLES)[number];

export const BROKER_CODE = 'DEMOBROKER1';
export const CARRIER_CODE = 'DEMOSF';

/** The API clients, registered by the admin exactly as an operator would. */
export const DEMO_CLIENTS: Record<DemoRole, Record<string, string>> = {
  checkout: { name: 'demo-checkout', role: 'checkout' },
  customs: {
    name: 'demo-broker',
    role: 'customs',
    partnerCode: BROKER_CODE,
    jurisdiction: 'CN',
    contact: 'privacy@broker.demo.example',
  },
  carrier: {
    name: 'demo-carrier',
    role: 'carrier',
    partnerCode: CARRIER_CODE,
    jurisdiction: 'CN',
    contact: 'privacy@carrier.demo.example',
  },
  auditor: { name: 'demo-auditor', role: 'auditor' },
  legal: { name: 'demo-legal', role: 'legal' },
};

/** 17 digits and the ISO 7064 MOD 11-2 check character; division 1199xx was never assigned. */
function demoIdNumber(division: string, birth: string, sequence: string): string {
  const first17 = `1199${division}${birth}${sequence}`;
  return first17 + checkCharacter(first17);
}

/** A number of the NANP's fictional range 555-0100..0199 (Washington DC area code). */
const demoPhone = (line: string) => `+1202555${line}`;

export interface DemoPerson {
  key: string;
  name: string;
  idNumber: string;
  phone: string;
  /** What this person shows a newcomer. */
  role: string;
}

const person = (
  key: string,
  name: string,
  id: [string, string, string],
  phoneLine: string,
  role: string,
): DemoPerson => ({ key, name, idNumber: demoIdNumber(...id), phone: demoPhone(phoneLine), role });

export const DEMO_PEOPLE = {
  wang: person('wang', '演示王明', ['01', '19880307', '011'], '0101', 'the full journey'),
  zhao: person('zhao', '演示赵丽', ['02', '19850921', '022'], '0102', 'two accounts'),
  li: person('li', '演示李娜', ['03', '19920514', '033'], '0103', 'an order over the limit'),
  chen: person('chen', '演示陈静', ['04', '19830110', '044'], '0104', 'a parent'),
  // Born 2019-06-01: under 14 (guardian consent required) until 2033.
  child: person('child', '演示陈小宝', ['04', '20190601', '052'], '0104', 'a child'),
  // Sequence 999: the development identity-verification simulator answers MISMATCH.
  sun: person('sun', '演示孙强', ['05', '19790223', '999'], '0105', 'verification mismatch'),
} as const;

export type DemoPersonKey = keyof typeof DEMO_PEOPLE;

const CONSENT = { policyVersion: 'demo-2024-01', sensitiveDataConsent: true };

export interface DemoRegistration {
  /** How the summary names this registration (no personal data). */
  key: string;
  person: DemoPersonKey;
  body: Record<string, unknown>;
}

const registration = (
  key: string,
  who: DemoPersonKey,
  userId: string,
  extra: Record<string, unknown> = {},
): DemoRegistration => {
  const { name, idNumber, phone } = DEMO_PEOPLE[who];
  return {
    key,
    person: who,
    body: { userId, name, idNumber, phone, consent: CONSENT, ...extra },
  };
};

/** Seven registrations of six people: 演示赵丽 has two accounts, 演示陈静 registers her child. */
export const DEMO_REGISTRATIONS: readonly DemoRegistration[] = [
  registration('wang', 'wang', 'demo-u-wang'),
  registration('zhao-app', 'zhao', 'demo-u-zhao-app'),
  registration('zhao-web', 'zhao', 'demo-u-zhao-web'),
  registration('li', 'li', 'demo-u-li'),
  registration('chen', 'chen', 'demo-u-chen'),
  registration('child', 'child', 'demo-u-chen', {
    consent: { ...CONSENT, guardianConsent: true },
    relation: 'other',
  }),
  registration('sun', 'sun', 'demo-u-sun'),
];

/** The catalogue: customs data per SKU, which confirm and the CEB621 message need. */
export const DEMO_PRODUCTS: readonly { sku: string; body: Record<string, string> }[] = [
  {
    sku: 'DEMO-MILK-900',
    body: {
      name: '婴儿配方奶粉',
      hsCode: '1901101000',
      category: 'general',
      spec: '900g/罐',
      originCountry: '601',
      unit: '122',
      legalUnit: '035',
      legalQtyPerUnit: '0.9',
      netWeightKg: '0.9',
    },
  },
  {
    sku: 'DEMO-CREAM-50',
    body: {
      name: '保湿面霜',
      hsCode: '3304990099',
      category: 'cosmetics-high-end',
      spec: '50ml/瓶',
      originCountry: '116',
      unit: '142',
      legalUnit: '035',
      legalQtyPerUnit: '0.05',
      netWeightKg: '0.08',
    },
  },
  {
    sku: 'DEMO-JADE-1',
    body: {
      name: '翡翠手镯',
      hsCode: '7116200000',
      category: 'jewellery-jade',
      spec: '1件',
      originCountry: '116',
      unit: '011',
      legalUnit: '035',
      legalQtyPerUnit: '0.05',
      netWeightKg: '0.05',
      tariffRate: '0.2',
    },
  },
];

const MILK = { sku: 'DEMO-MILK-900', name: 'Milk powder 900g', unitPriceFen: 5990 };
const CREAM = { sku: 'DEMO-CREAM-50', name: 'Face cream 50ml', unitPriceFen: 3500 };
const JADE = { sku: 'DEMO-JADE-1', name: 'Jade bracelet', unitPriceFen: 300000 };

export interface DemoOrder {
  orderNo: string;
  registration: string;
  items: { sku: string; name: string; qty: number; unitPriceFen: number }[];
  /** Who receives the parcel: the buyer, or someone else (a gift). */
  consignee: { name: string; phone: string; address: string } | 'buyer';
  /** How far the demo takes it. */
  journey: 'verify' | 'paid' | 'entered' | 'released-and-returned';
}

const address = (number: number) => `上海市浦东新区演示路${number}号`;

export const DEMO_ORDERS: readonly DemoOrder[] = [
  {
    orderNo: 'DEMO-SO-0001',
    registration: 'wang',
    items: [
      { ...MILK, qty: 2 },
      { ...CREAM, qty: 1 },
    ],
    consignee: 'buyer',
    journey: 'released-and-returned',
  },
  {
    orderNo: 'DEMO-SO-0002',
    registration: 'zhao-app',
    items: [{ ...MILK, qty: 3 }],
    consignee: 'buyer',
    journey: 'entered',
  },
  {
    orderNo: 'DEMO-SO-0003',
    registration: 'zhao-web',
    items: [{ ...CREAM, qty: 2 }],
    // A gift: the carrier receives this consignee, the broker only the address.
    consignee: { name: '演示周杰', phone: demoPhone('0106'), address: address(3) },
    journey: 'paid',
  },
  {
    orderNo: 'DEMO-SO-0004',
    registration: 'li',
    items: [{ ...JADE, qty: 2 }],
    consignee: 'buyer',
    journey: 'verify',
  },
  {
    orderNo: 'DEMO-SO-0005',
    registration: 'sun',
    items: [{ ...MILK, qty: 1 }],
    consignee: 'buyer',
    journey: 'verify',
  },
];

/** The verify body of a demo order: constant, so a repeated verify is a retry, not a conflict. */
export function verifyBody(order: DemoOrder, identityId: string): Record<string, unknown> {
  const buyer = DEMO_PEOPLE[registrationOf(order.registration).person];
  return {
    orderNo: order.orderNo,
    identityId,
    payer: { name: buyer.name, idNumber: buyer.idNumber },
    items: order.items,
    freightFen: 500,
    consignee:
      order.consignee === 'buyer'
        ? { name: buyer.name, phone: buyer.phone, address: address(1) }
        : order.consignee,
    customsCode: BROKER_CODE,
    carrierCode: CARRIER_CODE,
  };
}

export function registrationOf(key: string): DemoRegistration {
  const found = DEMO_REGISTRATIONS.find((candidate) => candidate.key === key);
  if (!found) throw new Error(`unknown demo registration ${key}`);
  return found;
}

/** The carrier's waybill number for a demo order: letters and digits, never phone-shaped. */
export const waybillOf = (orderNo: string) => `DEMOSF${orderNo.replace(/[^A-Z0-9]/g, '')}`;

/** The piece the buyer of DEMO-SO-0001 sends back after customs released it. */
export const DEMO_RETURN = { orderNo: 'DEMO-SO-0001', items: [{ sku: CREAM.sku, qty: 1 }] };

/**
 * BULK_ACCESS threshold of the demo's own service: the checkout client touches
 * all seven registrations within the hour, over it (the default is 200).
 */
export const DEMO_BULK_SUBJECTS_PER_HOUR = 5;

/** Sample platform codes of .env.example (not real codes), so the CEB621 XML can be built. */
export const DEMO_CEB621_DEFAULTS = {
  head: {
    ebpCode: 'EBP0000001',
    ebpName: 'Example Mall',
    ebcCode: 'EBC0000001',
    ebcName: 'Example Shop',
    logisticsName: 'Demo Express',
    assureCode: 'EBP0000001',
    customsCode: '2244',
    portCode: '2244',
    agentName: 'Demo Broker',
    tradeMode: '1210',
    trafMode: '5',
    country: '116',
  },
  baseTransfer: { copCode: 'COP0000001', copName: 'Example Mall', dxpId: 'DXPENT0000000001' },
};
