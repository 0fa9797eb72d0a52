import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';
import { REDACTED_PATHS, createLogger } from '../src/logger';
import { Writable } from 'node:stream';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

// A synthetic but valid resident id number (GB 11643 check character correct).
const ID_NUMBER = '11010519491231002X';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('logs keep personal data out', () => {
  it('when a request carries a resident id number, then no log line contains it', async () => {
    await t
      .http()
      .post('/v1/clients')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .set('X-Request-Id', 'log-test-1')
      .send({ name: ID_NUMBER, role: 'auditor', idNumber: ID_NUMBER })
      .expect(400);
    await t
      .http()
      .post('/v1/clients')
      .set('Authorization', `Bearer ${ID_NUMBER}`)
      .send({ name: 'x', role: 'auditor' })
      .expect(401);

    const logs = t.logs.join('');
    expect(logs).toContain('log-test-1');
    expect(logs).not.toContain(ID_NUMBER);
    expect(logs.toLowerCase()).not.toContain(ID_NUMBER.toLowerCase());
    expect(logs).not.toContain(ADMIN_KEY);
  });

  it('when code logs an object with personal fields by mistake, then pino redacts them', () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    logger.info({
      idNumber: ID_NUMBER,
      buyer: { name: '张三', phone: '13800138000', address: '北京市朝阳区' },
      req: { headers: { authorization: `Bearer ${ADMIN_KEY}` } },
    });
    const line = lines.join('');
    for (const secret of [ID_NUMBER, '张三', '13800138000', '北京市朝阳区', ADMIN_KEY]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('[REDACTED]');
    expect(REDACTED_PATHS).toContain('*.idNumber');
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
