import { findPlaintextPersonalData } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.connection.db!.dropCollection('scratch').catch(() => undefined);
  await t.close();
});

describe('the plaintext scan every test file ends with', () => {
  it('when personal data is stored in plaintext, then the scan finds it by collection and path', async () => {
    await t.connection.db!.collection('scratch').insertOne({
      buyer: { idNumber: '11010519491231002X', phones: ['13800138000', '+85291234567'] },
      consignee: { name: '张三' },
      note: 'order 12345678901234567890 is not an id number, +08:00 is an offset',
    });
    expect(await findPlaintextPersonalData(t.connection)).toEqual([
      { collection: 'scratch', path: 'buyer.idNumber', kind: 'id-number' },
      { collection: 'scratch', path: 'buyer.phones.*', kind: 'mobile' },
      { collection: 'scratch', path: 'buyer.phones.*', kind: 'mobile' },
      { collection: 'scratch', path: 'consignee.name', kind: 'chinese-text' },
    ]);
  });
});
