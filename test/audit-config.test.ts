import { loadConfig } from '../src/config';

const base = {
  NODE_ENV: 'test',
  ADMIN_API_KEY: 'test-admin-key-0123456789abcdef0123456789',
  MONGODB_URI: 'mongodb://localhost:27017',
};

it('when the access log settings are not given, then checkpoints come every 1000 events and streams go stale after 5 checkpoint intervals', () => {
  expect(loadConfig(base)).toMatchObject({
    auditCheckpointIntervalMs: 60000,
    auditCheckpointEvery: 1000,
    auditStreamStaleMs: 300000,
  });
  expect(loadConfig({ ...base, AUDIT_CHECKPOINT_INTERVAL_MS: '1000' }).auditStreamStaleMs).toBe(
    5000,
  );
});

it('when a stream would go stale within 3 checkpoint intervals, then the configuration is refused', () => {
  expect(() => loadConfig({ ...base, AUDIT_STREAM_STALE_MS: '179999' })).toThrow(
    /AUDIT_STREAM_STALE_MS/,
  );
  expect(() => loadConfig({ ...base, AUDIT_CHECKPOINT_EVERY: '0' })).toThrow(
    /AUDIT_CHECKPOINT_EVERY/,
  );
});
