import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { createApp, type AppDeps, type BuiltApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { connectDatabase } from '../../src/db/connection';
import { createLogger } from '../../src/logger';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';

export interface TestApp extends BuiltApp {
  config: Config;
  connection: Connection;
  /** Every log line the app wrote, raw. */
  logs: string[];
  http(): ReturnType<typeof request>;
  /**
   * Registers a client through the API and returns its key. A partner (with
   * a partnerCode) is in mainland China (`CN`) with a privacy contact unless
   * `partner` says otherwise.
   */
  clientKey(
    role: string,
    partnerCode?: string,
    partner?: PartnerRegistration,
  ): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
}

/** Where a partner is and whom to ask: the v1.1 registration fields. */
export interface PartnerRegistration {
  /** The client's name (default `<role> client`). */
  name?: string;
  jurisdiction?: string;
  crossBorderBasis?: string;
  contact?: string;
}

/** The fields a partner registers with when a test names none. */
export const DEFAULT_PARTNER = { jurisdiction: 'CN', contact: 'privacy@partner.example' };

/** A fresh database name per app: test files never see each other's data. */
export function freshDatabaseName(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

export interface TestAppOptions {
  /** Replaces the wall clock of time-dependent work (quota holds and years). */
  clock?: () => Date;
  /** An embedded engine the test started itself, for readiness to report on. */
  embeddedDatabase?: AppDeps['embeddedDatabase'];
}

/**
 * Where this run keeps its keys (global setup sets them): KEYS_DIR, and for
 * `npm run test:hsm` the SoftHSM2 token that holds the master key.
 */
const KEY_SETTINGS = [
  'KEYS_DIR',
  'KEY_PROVIDER',
  'PKCS11_MODULE',
  'PKCS11_TOKEN_LABEL',
  'PKCS11_PIN_FILE',
] as const;

export function keySettingsOfRun(): Record<string, string> {
  return Object.fromEntries(
    KEY_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
  );
}

export async function createTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const uri = env.MONGODB_URI ?? process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: jest globalSetup did not run');
  const config = loadConfig({
    NODE_ENV: 'test',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'info',
    ...keySettingsOfRun(),
    ...env,
    MONGODB_URI: uri,
  });
  const connection = await connectDatabase(uri, {
    dbName: env.DB_NAME ?? freshDatabaseName(),
    timeoutMs: config.dbTimeoutMs,
    operationTimeoutMs: config.dbOperationTimeoutMs,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const built = createApp({
    config,
    connection,
    logger: createLogger('info', sink),
    clock: options.clock,
    embeddedDatabase: options.embeddedDatabase,
  });
  try {
    await built.start();
  } catch (error) {
    // A start that fails (a test of bad keys, say) must not leave the connection open.
    await built.stop().catch(() => undefined);
    await connection.close();
    throw error;
  }
  const http = () => request(built.app);
  return {
    ...built,
    config,
    connection,
    logs,
    http,
    async clientKey(role, partnerCode, partner) {
      const response = await http()
        .post('/v1/clients')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .send({
          name: `${role} client`,
          role,
          ...(partnerCode ? { partnerCode, ...DEFAULT_PARTNER, ...partner } : {}),
        })
        .expect(201);
      return { id: response.body.id, apiKey: response.body.apiKey };
    },
    async close() {
      await built.stop();
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}
