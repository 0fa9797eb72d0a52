import fs from 'node:fs';
import path from 'node:path';
import { checkPartnerCertificate } from '../src/clients/partner-certificate';
import { createPayloadSigner, envelopeFor } from '../src/disclosure/payload-crypto';
import {
  loadSigningMaterial,
  loadSm2SigningKey,
  SIGNING_CERT_FILE,
  SIGNING_DIR,
  SIGNING_KEY_FILE,
  SigningKeyError,
  SM2_SIGNING_KEY_FILE,
} from '../src/disclosure/signing-key';
import {
  decryptEnveloped,
  ecCertificatePem,
  partnerKeyPair,
  scratchDir,
  verifyDetached,
} from './helpers/disclosure-fixtures';

let keysDir: string;
beforeAll(() => {
  keysDir = scratchDir();
});
afterAll(() => fs.rmSync(keysDir, { recursive: true, force: true }));

describe('signing key material', () => {
  it('when KEYS_DIR has none outside production, then a key and self-signed certificate are generated once', () => {
    const first = loadSigningMaterial({ keysDir, env: 'development' });
    const second = loadSigningMaterial({ keysDir, env: 'development' });
    expect(second.certificatePem).toBe(first.certificatePem);
    expect(fs.readdirSync(path.join(keysDir, SIGNING_DIR)).sort()).toEqual([
      SIGNING_CERT_FILE,
      SIGNING_KEY_FILE,
    ]);
    expect(fs.statSync(path.join(keysDir, SIGNING_DIR, SIGNING_KEY_FILE)).mode & 0o077).toBe(0);
  });

  it('when the folder holds only the SM2 key (left by a gm start with the keys in a token), then the RSA pair is still generated', () => {
    const other = scratchDir();
    try {
      loadSm2SigningKey({ keysDir: other, env: 'development' });
      const material = loadSigningMaterial({ keysDir: other, env: 'development', profile: 'gm' });
      expect(material.privateKey.asymmetricKeyType).toBe('rsa');
      expect(material.sm2).not.toBeNull();
      expect(fs.readdirSync(path.join(other, SIGNING_DIR)).sort()).toEqual(
        [SIGNING_CERT_FILE, SIGNING_KEY_FILE, SM2_SIGNING_KEY_FILE].sort(),
      );
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('when KEYS_DIR has none in production, then it refuses to start', () => {
    const empty = scratchDir();
    try {
      expect(() => loadSigningMaterial({ keysDir: empty, env: 'production' })).toThrow(
        SigningKeyError,
      );
      expect(fs.existsSync(path.join(empty, SIGNING_DIR))).toBe(false);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('when the certificate belongs to another key, then it refuses to start', () => {
    const other = scratchDir();
    try {
      loadSigningMaterial({ keysDir: other, env: 'test' });
      fs.copyFileSync(
        path.join(keysDir, SIGNING_DIR, SIGNING_CERT_FILE),
        path.join(other, SIGNING_DIR, SIGNING_CERT_FILE),
      );
      expect(() => loadSigningMaterial({ keysDir: other, env: 'production' })).toThrow(
        'disclosure signing certificate does not match the signing key',
      );
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('detached signature', () => {
  it('when a body is signed, then openssl cms -verify accepts it with the certificate', () => {
    const signer = createPayloadSigner(loadSigningMaterial({ keysDir, env: 'test' }));
    const body = Buffer.from(JSON.stringify({ items: [{ name: '张三', n: 1 }] }));
    const result = verifyDetached(body, signer.sign(body), signer.certificatePem);
    expect(result.stderr).toContain('Verification successful');
    expect(result.status).toBe(0);
  });

  it('when one byte of the body changes, then openssl rejects the signature', () => {
    const signer = createPayloadSigner(loadSigningMaterial({ keysDir, env: 'test' }));
    const body = Buffer.from('{"a":1}');
    const signature = signer.sign(body);
    const result = verifyDetached(Buffer.from('{"a":2}'), signature, signer.certificatePem);
    expect(result.status).not.toBe(0);
    expect(result.stderr).not.toContain('Verification successful');
  });
});

describe('envelope', () => {
  it('when a body is enveloped to a partner certificate, then openssl decrypts it with the partner key', () => {
    const partner = partnerKeyPair('Broker Ltd');
    const body = Buffer.from('<ceb:CEB621Message>张三</ceb:CEB621Message>');
    const result = decryptEnveloped(envelopeFor(partner.certificatePem, body), partner);
    expect(result.status).toBe(0);
    expect(result.stdout.equals(body)).toBe(true);
  });

  it('when another partner key is used, then openssl cannot decrypt it', () => {
    const partner = partnerKeyPair('Broker Ltd');
    const intruder = partnerKeyPair('Other Ltd');
    const result = decryptEnveloped(
      envelopeFor(partner.certificatePem, Buffer.from('secret')),
      intruder,
    );
    expect(result.stdout.toString()).not.toBe('secret');
  });
});

describe('partner certificate check', () => {
  it('when the PEM is a valid RSA certificate, then it is accepted with a summary', () => {
    const check = checkPartnerCertificate(partnerKeyPair('SF Express').certificatePem);
    expect(check).toMatchObject({
      ok: true,
      summary: {
        subject: 'CN=SF Express',
        fingerprintSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
  });

  it.each([
    ['not PEM at all', 'hello', 'must be exactly one PEM certificate'],
    ['two certificates', 'TWO', 'must be exactly one PEM certificate'],
    [
      'a PEM block with garbage inside',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      'must be an X.509 certificate with an RSA key',
    ],
    ['a private key', 'KEY', 'must be exactly one PEM certificate'],
  ])('when the body is %s, then it is refused', (_label, text, reason) => {
    const pair = partnerKeyPair();
    const input =
      text === 'TWO'
        ? pair.certificatePem + pair.certificatePem
        : text === 'KEY'
          ? pair.privateKeyPem
          : text;
    expect(checkPartnerCertificate(input)).toEqual({ ok: false, reason });
  });

  it('when the certificate carries an EC key, then it is refused', () => {
    const dir = scratchDir();
    try {
      expect(checkPartnerCertificate(ecCertificatePem(dir))).toEqual({
        ok: false,
        reason: 'must be an X.509 certificate with an RSA key',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the RSA key is shorter than 2048 bits, then it is refused', () => {
    expect(checkPartnerCertificate(partnerKeyPair('weak', { bits: 1024 }).certificatePem)).toEqual({
      ok: false,
      reason: 'must carry an RSA key of at least 2048 bits',
    });
  });

  it('when the certificate has expired, then it is refused', () => {
    const expired = partnerKeyPair('old', { notAfter: new Date(Date.now() - 1000) });
    expect(checkPartnerCertificate(expired.certificatePem)).toEqual({
      ok: false,
      reason: 'is not valid at this time',
    });
  });
});
