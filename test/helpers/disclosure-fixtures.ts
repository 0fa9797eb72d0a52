import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import type { Test } from 'supertest';
import {
  auth,
  catalogue,
  orderBody,
  registerBuyer,
  transition,
  verify,
  type Buyer,
  type OrderOptions,
} from './checkout-fixtures';
import { randomPerson } from './identity-fixtures';
import type { PartnerRegistration, TestApp } from './test-app';

/** A scratch folder per call, removed by the caller with `fs.rmSync(dir, { recursive: true })`. */
export function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'disclosure-test-'));
}

export interface OpensslResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the real openssl command-line tool. */
export function openssl(args: string[], cwd: string): OpensslResult {
  const result = spawnSync('openssl', args, { cwd, timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** Writes the files into a scratch folder, runs `openssl cms -verify` on a detached signature. */
export function verifyDetached(
  body: Buffer,
  signatureBase64: string,
  certificatePem: string,
): OpensslResult {
  const dir = scratchDir();
  try {
    fs.writeFileSync(path.join(dir, 'body.bin'), body);
    fs.writeFileSync(path.join(dir, 'sig.der'), Buffer.from(signatureBase64, 'base64'));
    fs.writeFileSync(path.join(dir, 'cert.pem'), certificatePem);
    return openssl(
      [
        'cms',
        '-verify',
        '-binary',
        '-inform',
        'DER',
        '-in',
        'sig.der',
        '-content',
        'body.bin',
        '-certfile',
        'cert.pem',
        '-CAfile',
        'cert.pem',
        '-out',
        'verified.bin',
      ],
      dir,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Decrypts a DER EnvelopedData with `openssl cms -decrypt` and the partner's own key. */
export function decryptEnveloped(envelope: Buffer, partner: PartnerKeyPair): OpensslResult {
  const dir = scratchDir();
  try {
    fs.writeFileSync(path.join(dir, 'body.p7m'), envelope);
    fs.writeFileSync(path.join(dir, 'key.pem'), partner.privateKeyPem);
    fs.writeFileSync(path.join(dir, 'cert.pem'), partner.certificatePem);
    return openssl(
      [
        'cms',
        '-decrypt',
        '-binary',
        '-inform',
        'DER',
        '-in',
        'body.p7m',
        '-inkey',
        'key.pem',
        '-recip',
        'cert.pem',
      ],
      dir,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface PartnerKeyPair {
  privateKeyPem: string;
  certificatePem: string;
}

/** A partner's own RSA key and self-signed certificate, as a broker or carrier would make. */
export function partnerKeyPair(
  commonName = 'Partner test',
  options: { bits?: number; notAfter?: Date } = {},
): PartnerKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: options.bits ?? 2048,
  });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * 24 * 3_600_000);
  const name = [{ name: 'commonName', value: commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { privateKeyPem, certificatePem: forge.pki.certificateToPem(cert) };
}

/** An EC certificate, which the service must refuse (it envelopes with RSA only). */
export function ecCertificatePem(dir: string): string {
  const made = openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ec.key',
      '-out',
      'ec.pem',
      '-subj',
      '/CN=ec partner',
      '-days',
      '30',
    ],
    dir,
  );
  if (made.status !== 0) throw new Error('openssl could not make an EC certificate');
  return fs.readFileSync(path.join(dir, 'ec.pem'), 'utf8');
}

/**
 * Orders confirmed through the real checkout API, and raw-byte access to
 * partner responses (signatures cover the exact bytes).
 */
/** CEB621_DEFAULTS of a configured deployment: every platform-wide code the message needs. */
export const CEB621_TEST_DEFAULTS = {
  head: {
    portCode: '2244',
    customsCode: '2244',
    ebpCode: 'EBP0000001',
    ebpName: 'Example Mall',
    ebcCode: 'EBC0000001',
    ebcName: 'Example Shop',
    logisticsName: 'SF Express',
    assureCode: 'EBP0000001',
    agentName: 'Broker One',
    tradeMode: '1210',
    trafMode: '5',
    country: '116',
  },
  baseTransfer: { copCode: 'COP0000001', copName: 'Example Mall', dxpId: 'DXPENT0000000001' },
};

export interface ConfirmedOrder {
  buyer: Buyer;
  orderNo: string;
  consignee: { name: string; phone: string; address: string };
  /** The buyer's taxable value of the order, for quota assertions. */
  taxableFen: number;
}

export async function confirmedOrder(
  t: TestApp,
  checkoutKey: string,
  options: {
    /** `other`: a consignee who is not the buyer (default); `self`: the buyer receives. */
    consignee?: 'self' | 'other';
    customsCode?: string;
    carrierCode?: string;
    items?: OrderOptions['items'];
    freightFen?: number;
    insuranceFen?: number;
    confirm?: boolean;
    /** false: the carrier gives no waybill, so the declaration is not lodged (default: given). */
    waybill?: boolean;
  } = {},
): Promise<ConfirmedOrder> {
  const buyer = await registerBuyer(t, checkoutKey);
  const other = randomPerson();
  const consignee =
    options.consignee === 'self'
      ? { name: buyer.person.name, phone: buyer.person.phone, address: '北京市朝阳区建国路88号' }
      : { name: other.name, phone: other.phone, address: '上海市浦东新区世纪大道100号' };
  const body = {
    ...orderBody(buyer, {
      consignee,
      items: options.items,
      freightFen: options.freightFen,
      insuranceFen: options.insuranceFen,
    }),
    customsCode: options.customsCode ?? 'BROKER1',
    carrierCode: options.carrierCode ?? 'SF',
  };
  const verified = await verify(t, checkoutKey, body);
  if (verified.status !== 200 || verified.body.decision !== 'APPROVED') {
    throw new Error(`verify did not approve: ${verified.status}`);
  }
  if (options.confirm !== false) {
    await catalogue(
      t,
      checkoutKey,
      body.items.map((item) => item.sku),
    );
    const confirmed = await transition(t, checkoutKey, body.orderNo, 'confirm');
    if (confirmed.status !== 200) throw new Error(`confirm failed: ${confirmed.status}`);
    if (options.waybill !== false) await giveWaybill(t, body.carrierCode, body.orderNo);
  }
  return { buyer, orderNo: body.orderNo, consignee, taxableFen: verified.body.tax.taxableFen };
}

const carrierKeys = new WeakMap<TestApp, Map<string, string>>();

/** A carrier client of `carrierCode`, registered once per app. */
export async function carrierKey(t: TestApp, carrierCode: string): Promise<string> {
  const keys = carrierKeys.get(t) ?? new Map<string, string>();
  carrierKeys.set(t, keys);
  const known = keys.get(carrierCode);
  if (known) return known;
  const { apiKey } = await t.clientKey('carrier', carrierCode);
  keys.set(carrierCode, apiKey);
  return apiKey;
}

/**
 * Registers the carrier of `carrierCode` with where it is (e.g. abroad), as
 * the one carrierKey and giveWaybill use from then on in this app.
 */
export async function registerCarrier(
  t: TestApp,
  carrierCode: string,
  partner: PartnerRegistration,
): Promise<{ id: string; apiKey: string }> {
  const client = await t.clientKey('carrier', carrierCode, partner);
  const keys = carrierKeys.get(t) ?? new Map<string, string>();
  carrierKeys.set(t, keys);
  keys.set(carrierCode, client.apiKey);
  return client;
}

/** A waybill number for an order: letters and digits, never phone-shaped. */
export const waybillFor = (orderNo: string) => `WB${orderNo.replace(/[^A-Za-z0-9]/g, '')}`;

/** The carrier accepts the order's shipment with a waybill: its declaration is then lodged. */
export async function giveWaybill(t: TestApp, carrierCode: string, orderNo: string) {
  const key = await carrierKey(t, carrierCode);
  // Found in the database, not pulled: a pull would disclose the consignee to the carrier
  // and add access-log events and receipts the calling test did not ask for.
  const shipment = await t.connection.collection('shipments').findOne({ orderNo });
  if (!shipment) throw new Error('no shipment for the order');
  const response = await t
    .http()
    .post(`/v1/shipments/${shipment.id as string}/ack`)
    .set(auth(key))
    .send({ status: 'ACCEPTED', logisticsNo: waybillFor(orderNo) });
  if (response.status !== 200) throw new Error(`waybill ack failed: ${response.status}`);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body as UTF-8 text (for JSON and XML). */
  text: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Sends a supertest request and keeps the body as the exact bytes received. */
export async function rawCall(call: Test): Promise<RawResponse> {
  const response = await call.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
  const body = response.body as Buffer;
  return {
    status: response.status,
    headers: response.headers as Record<string, string>,
    body,
    text: body.toString('utf8'),
    json: () => JSON.parse(body.toString('utf8')),
  };
}

/** A JSON item as a test reads it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonItem = Record<string, any>;

/** Every page of a partner list, following `next`. */
export async function pullAll(
  t: TestApp,
  key: string,
  path: string,
  limit = 100,
): Promise<JsonItem[]> {
  const items: JsonItem[] = [];
  let after: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url: string = `${path}${separator}limit=${limit}${after ? `&after=${after}` : ''}`;
    const response = await t.http().get(url).set(auth(key));
    if (response.status !== 200) throw new Error(`pull failed: ${response.status}`);
    items.push(...response.body.items);
    after = response.body.next;
  } while (after);
  return items;
}
