import Joi from 'joi';
import { isIP } from 'node:net';
import path from 'node:path';
import { CRYPTO_PROFILES, type CryptoProfile } from './crypto/crypto-profile';
import { KEY_PROVIDER_KINDS, type KeyProviderKind } from './crypto/key-provider';
import { parsePkcs11Config, type Pkcs11Config } from './crypto/pkcs11/pkcs11-config';
import { EMBEDDED_ENGINES, type EmbeddedEngineName } from './db/embedded/engine';
import { parseDisclosureConfig, type DisclosureConfig } from './disclosure/disclosure-config';

/** The service's whole configuration, validated once at start-up. */
export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  /** Unset: the embedded engine is started (never in production). */
  mongodbUri: string | undefined;
  /** Which embedded engine runs when MONGODB_URI is unset. */
  embeddedDb: EmbeddedEngineName;
  adminApiKey: string;
  keysDir: string;
  /** Algorithms of new keys, ciphertexts, MACs and signatures: intl or gm (docs/cryptography.md). */
  cryptoProfile: CryptoProfile;
  /** Where the master key lives: PEM files in KEYS_DIR, or an HSM over PKCS#11 (docs/key-management.md). */
  keyProvider: KeyProviderKind;
  /** The HSM (PKCS11_*), or null when unset; required when keyProvider is pkcs11. */
  pkcs11: Pkcs11Config | null;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimit: string;
  rateLimitPerMinute: number;
  /** Refused (401/403) requests per minute before 429, per source address and per presented key. */
  refusalLimits: { perAddressPerMinute: number; perKeyPerMinute: number };
  /** Server selection and connection: how long to wait for a database to answer at all. */
  dbTimeoutMs: number;
  /** The bound on one database operation; past it the caller gets 503 DATABASE_UNAVAILABLE. */
  dbOperationTimeoutMs: number;
  shutdownGraceMs: number;
  /** Access log: how often the head of this instance's chain is signed, also when idle. */
  auditCheckpointIntervalMs: number;
  /** Access log: most events a stream holds beyond its last checkpoint (the unprotected tail). */
  auditCheckpointEvery: number;
  /** Access log: a stream whose writer has not heartbeated for this long is sealed as crashed. */
  auditStreamStaleMs: number;
  /** Access log: identical refusals after a first are counted this long, then stated in one event. */
  auditRefusalWindowMs: number;
  /** How long an unwrapped data key may stay in memory (0: not cached). */
  dataKeyCacheMs: number;
  /**
   * How often a running instance reloads the keyring (0: never), so a
   * blind-index version added by `keys move-profile` reaches every instance.
   */
  keyringRefreshMs: number;
  /** Identity verification (name + id number) through a licensed provider. */
  idv: {
    provider: 'simulator' | 'disabled';
    timeoutMs: number;
    simulatorLatencyMs: number;
    simulatorFailureRate: number;
  };
  photoMaxBytes: number;
  /** Disclosure: the CEB621 fields the service cannot know (CEB621_DEFAULTS). */
  disclosure: DisclosureConfig;
  /** Checkout and quota. */
  quota: {
    /** How long an unpaid (unconfirmed) reservation holds quota before the sweeper releases it. */
    holdMinutes: number;
    sweepIntervalMs: number;
    /** A JSON file replacing the bundled CBEC policy data (limits, rates); unset: bundled. */
    policyFile: string | undefined;
    /** The Single Window quota query; `off`: decide on the local ledger alone. */
    customs: {
      mode: 'off' | 'simulator';
      timeoutMs: number;
      simulatorUsedFen: number;
      simulatorLatencyMs: number;
      simulatorFailure: 'none' | 'error' | 'hang';
    };
  };
  /** The register of a person's requests: how often overdue ones are counted and alerted. */
  privacyRequests: { checkIntervalMs: number };
  /** Security alerts evaluated from the access log's events (docs/access-log.md, "Alerts"). */
  alerts: {
    /** BULK_ACCESS: more distinct subjects than this touched by one actor in an hour. */
    bulkSubjectsPerHour: number;
    /** OFF_HOURS: business hours in Beijing time, minutes after midnight, [start, end). */
    businessHours: { startMinute: number; endMinute: number };
  };
  /**
   * Proxies whose X-Forwarded-* headers are believed (Express `trust proxy`):
   * false, or addresses, subnets and the names `loopback`, `linklocal`, `uniquelocal`.
   */
  trustProxy: false | string[];
  /** The security console's sign-in sessions (docs/console.md). */
  consoleSession: {
    /** A session unused for this long ends. */
    idleMs: number;
    /** A session ends this long after sign-in, however much it is used. */
    maxMs: number;
  };
  /** Legal holds and the retention job (docs/privacy-lifecycle.md). */
  retention: {
    /** Transaction records are kept this long after completion (E-Commerce Law art. 31: at least 3). */
    transactionYears: number;
    /** An identity with no order completed (and none open) for this long is erased (at least 3). */
    inactiveIdentityYears: number;
    /** How often the in-process retention job runs; 0: never (run the CLI instead). */
    jobIntervalMs: number;
  };
}

/** The legal minimum both retention periods may not go below (E-Commerce Law art. 31). */
export const RETENTION_FLOOR_YEARS = 3;

/** Known only outside production, so a dev machine starts with no setup. */
const DEV_ADMIN_API_KEY = 'dev-admin-key-not-for-production';

/** `HH:MM-HH:MM`, 24-hour Beijing time; the end is exclusive and may be 24:00. */
const BUSINESS_HOURS = /^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'test', 'production').default('development'),
  PORT: Joi.number().integer().min(0).max(65535).default(8080),
  MONGODB_URI: Joi.string()
    .uri({ scheme: ['mongodb', 'mongodb+srv'] })
    .when('NODE_ENV', { is: 'production', then: Joi.required() }),
  ADMIN_API_KEY: Joi.string()
    .min(32)
    .when('NODE_ENV', {
      is: 'production',
      then: Joi.required(),
      otherwise: Joi.optional().default(DEV_ADMIN_API_KEY),
    }),
  EMBEDDED_DB: Joi.string()
    .valid(...EMBEDDED_ENGINES)
    .default('mongo-java-server'),
  KEYS_DIR: Joi.string().default('./keys'),
  CRYPTO_PROFILE: Joi.string()
    .valid(...CRYPTO_PROFILES)
    .default('intl'),
  KEY_PROVIDER: Joi.string()
    .valid(...KEY_PROVIDER_KINDS)
    .default('file'),
  DATA_DIR: Joi.string().default('./.data'),
  LOG_LEVEL: Joi.string()
    .valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')
    .default('info'),
  BODY_LIMIT: Joi.string()
    .pattern(/^\d+(b|kb|mb)$/)
    .default('100kb'),
  RATE_LIMIT_PER_MINUTE: Joi.number().integer().min(1).default(1200),
  REFUSALS_PER_MINUTE_PER_ADDRESS: Joi.number().integer().min(1).default(60),
  REFUSALS_PER_MINUTE_PER_KEY: Joi.number().integer().min(1).default(30),
  DB_TIMEOUT_MS: Joi.number().integer().min(100).default(5000),
  DB_OPERATION_TIMEOUT_MS: Joi.number().integer().min(100).max(600000).default(10000),
  SHUTDOWN_GRACE_MS: Joi.number().integer().min(0).default(10000),
  AUDIT_CHECKPOINT_INTERVAL_MS: Joi.number().integer().min(50).max(86400000).default(60000),
  AUDIT_CHECKPOINT_EVERY: Joi.number().integer().min(1).max(100000).default(1000),
  // Heartbeats come once per checkpoint interval: stale must leave room for several missed ones.
  AUDIT_STREAM_STALE_MS: Joi.number()
    .integer()
    .min(Joi.ref('AUDIT_CHECKPOINT_INTERVAL_MS', { adjust: (interval: number) => interval * 3 }))
    .default(
      (parent: { AUDIT_CHECKPOINT_INTERVAL_MS: number }) => parent.AUDIT_CHECKPOINT_INTERVAL_MS * 5,
    ),
  AUDIT_REFUSAL_WINDOW_MS: Joi.number().integer().min(100).max(3600000).default(60000),
  DATA_KEY_CACHE_MS: Joi.number().integer().min(0).max(60000).default(2000),
  KEYRING_REFRESH_MS: Joi.number().integer().min(0).max(3600000).default(30000),
  IDV_PROVIDER: Joi.string()
    .valid('simulator', 'disabled')
    // Never the simulator by default in production: it would call everyone VERIFIED.
    .when('NODE_ENV', {
      is: 'production',
      then: Joi.optional().default('disabled'),
      otherwise: Joi.optional().default('simulator'),
    }),
  IDV_TIMEOUT_MS: Joi.number().integer().min(50).max(60000).default(3000),
  IDV_SIMULATOR_LATENCY_MS: Joi.number().integer().min(0).max(60000).default(0),
  IDV_SIMULATOR_FAILURE_RATE: Joi.number().min(0).max(1).default(0),
  PHOTO_MAX_BYTES: Joi.number().integer().min(1024).max(10485760).default(2097152),
  QUOTA_HOLD_MINUTES: Joi.number().integer().min(1).max(10080).default(30),
  QUOTA_SWEEP_INTERVAL_MS: Joi.number().integer().min(1000).max(86400000).default(60000),
  CBEC_POLICY_FILE: Joi.string(),
  // No real connector exists yet; the simulator never runs in production.
  CUSTOMS_QUOTA_MODE: Joi.string()
    .valid('off', 'simulator')
    .default('off')
    .when('NODE_ENV', { is: 'production', then: Joi.invalid('simulator') }),
  CUSTOMS_QUOTA_TIMEOUT_MS: Joi.number().integer().min(10).max(60000).default(800),
  CUSTOMS_QUOTA_SIM_USED_FEN: Joi.number().integer().min(0).max(100000000).default(0),
  CUSTOMS_QUOTA_SIM_LATENCY_MS: Joi.number().integer().min(0).max(60000).default(0),
  CUSTOMS_QUOTA_SIM_FAILURE: Joi.string().valid('none', 'error', 'hang').default('none'),
  PRIVACY_REQUESTS_CHECK_INTERVAL_MS: Joi.number().integer().min(1000).max(86400000).default(60000),
  ALERT_BULK_SUBJECTS_PER_HOUR: Joi.number().integer().min(1).max(1000000).default(200),
  ALERT_BUSINESS_HOURS: Joi.string()
    .pattern(BUSINESS_HOURS)
    .custom((value: string, helpers) =>
      parseBusinessHours(value) ? value : helpers.error('any.invalid'),
    )
    .default('08:00-20:00'),
  TRUST_PROXY: Joi.string()
    .custom((value: string, helpers) =>
      parseTrustProxy(value) === null ? helpers.error('any.invalid') : value,
    )
    .default('false'),
  CONSOLE_SESSION_IDLE_MS: Joi.number().integer().min(60000).max(86400000).default(1800000),
  CONSOLE_SESSION_MAX_MS: Joi.number()
    .integer()
    .min(Joi.ref('CONSOLE_SESSION_IDLE_MS'))
    .max(86400000)
    .default(28800000),
  // Floors, not defaults only: configuration can lengthen the periods, never shorten them below the law.
  RETENTION_TRANSACTION_YEARS: Joi.number()
    .integer()
    .min(RETENTION_FLOOR_YEARS)
    .max(100)
    .default(3),
  RETENTION_INACTIVE_IDENTITY_YEARS: Joi.number()
    .integer()
    .min(RETENTION_FLOOR_YEARS)
    .max(100)
    .default(3),
  RETENTION_JOB_INTERVAL_MS: Joi.number().integer().min(0).max(2147483647).default(86400000),
}).unknown(true);

export class ConfigError extends Error {}

/**
 * Builds the config from an environment. Throws ConfigError with one line
 * naming the variable; the message never repeats the value (it may be a secret).
 */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const { value, error } = schema.validate(environment, { abortEarly: true, convert: true });
  if (error) {
    const variable = String(error.details[0]?.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${variable} ${describe(error.details[0]?.type)}`);
  }
  const disclosure = parseDisclosureConfig(environment);
  if (!disclosure.ok) {
    throw new ConfigError(`invalid configuration: ${disclosure.variable} ${disclosure.problem}`);
  }
  const pkcs11 = parsePkcs11Config(environment);
  if (!pkcs11.ok) {
    throw new ConfigError(`invalid configuration: ${pkcs11.variable} ${pkcs11.problem}`);
  }
  if (value.KEY_PROVIDER === 'pkcs11' && !pkcs11.value) {
    throw new ConfigError(
      'invalid configuration: KEY_PROVIDER pkcs11 requires PKCS11_MODULE, PKCS11_TOKEN_LABEL and PKCS11_PIN_FILE',
    );
  }
  return {
    env: value.NODE_ENV,
    port: value.PORT,
    mongodbUri: value.MONGODB_URI,
    embeddedDb: value.EMBEDDED_DB,
    adminApiKey: value.ADMIN_API_KEY,
    keysDir: path.resolve(value.KEYS_DIR),
    cryptoProfile: value.CRYPTO_PROFILE,
    keyProvider: value.KEY_PROVIDER,
    pkcs11: pkcs11.value,
    dataDir: path.resolve(value.DATA_DIR),
    logLevel: value.LOG_LEVEL,
    bodyLimit: value.BODY_LIMIT,
    rateLimitPerMinute: value.RATE_LIMIT_PER_MINUTE,
    refusalLimits: {
      perAddressPerMinute: value.REFUSALS_PER_MINUTE_PER_ADDRESS,
      perKeyPerMinute: value.REFUSALS_PER_MINUTE_PER_KEY,
    },
    dbTimeoutMs: value.DB_TIMEOUT_MS,
    dbOperationTimeoutMs: value.DB_OPERATION_TIMEOUT_MS,
    shutdownGraceMs: value.SHUTDOWN_GRACE_MS,
    auditCheckpointIntervalMs: value.AUDIT_CHECKPOINT_INTERVAL_MS,
    auditCheckpointEvery: value.AUDIT_CHECKPOINT_EVERY,
    auditStreamStaleMs: value.AUDIT_STREAM_STALE_MS,
    auditRefusalWindowMs: value.AUDIT_REFUSAL_WINDOW_MS,
    dataKeyCacheMs: value.DATA_KEY_CACHE_MS,
    keyringRefreshMs: value.KEYRING_REFRESH_MS,
    idv: {
      provider: value.IDV_PROVIDER,
      timeoutMs: value.IDV_TIMEOUT_MS,
      simulatorLatencyMs: value.IDV_SIMULATOR_LATENCY_MS,
      simulatorFailureRate: value.IDV_SIMULATOR_FAILURE_RATE,
    },
    photoMaxBytes: value.PHOTO_MAX_BYTES,
    disclosure: disclosure.value,
    quota: {
      holdMinutes: value.QUOTA_HOLD_MINUTES,
      sweepIntervalMs: value.QUOTA_SWEEP_INTERVAL_MS,
      policyFile: value.CBEC_POLICY_FILE,
      customs: {
        mode: value.CUSTOMS_QUOTA_MODE,
        timeoutMs: value.CUSTOMS_QUOTA_TIMEOUT_MS,
        simulatorUsedFen: value.CUSTOMS_QUOTA_SIM_USED_FEN,
        simulatorLatencyMs: value.CUSTOMS_QUOTA_SIM_LATENCY_MS,
        simulatorFailure: value.CUSTOMS_QUOTA_SIM_FAILURE,
      },
    },
    privacyRequests: { checkIntervalMs: value.PRIVACY_REQUESTS_CHECK_INTERVAL_MS },
    alerts: {
      bulkSubjectsPerHour: value.ALERT_BULK_SUBJECTS_PER_HOUR,
      businessHours: parseBusinessHours(value.ALERT_BUSINESS_HOURS)!,
    },
    trustProxy: parseTrustProxy(value.TRUST_PROXY)!,
    consoleSession: {
      idleMs: value.CONSOLE_SESSION_IDLE_MS,
      maxMs: value.CONSOLE_SESSION_MAX_MS,
    },
    retention: {
      transactionYears: value.RETENTION_TRANSACTION_YEARS,
      inactiveIdentityYears: value.RETENTION_INACTIVE_IDENTITY_YEARS,
      jobIntervalMs: value.RETENTION_JOB_INTERVAL_MS,
    },
  };
}

/** Minutes after midnight of `HH:MM-HH:MM`, or null when not a non-empty range within a day. */
export function parseBusinessHours(
  value: string,
): { startMinute: number; endMinute: number } | null {
  const match = BUSINESS_HOURS.exec(value);
  if (!match) return null;
  const [startMinute, endMinute] = [
    Number(match[1]) * 60 + Number(match[2]),
    Number(match[3]) * 60 + Number(match[4]),
  ];
  if (endMinute > 24 * 60 || startMinute >= endMinute) return null;
  return { startMinute, endMinute };
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `false`, or a comma-separated list of proxy addresses, subnets (`10.0.0.0/8`)
 * and Express's names for ranges; null when any entry is none of these.
 */
export function parseTrustProxy(value: string): false | string[] | null {
  if (value.trim() === 'false') return false;
  const entries = value.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => {
    if (PROXY_NAMES.has(entry)) return true;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    if (prefix === undefined) return true;
    return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  });
  return valid ? entries : null;
}

function describe(type: string | undefined): string {
  switch (type) {
    case 'any.required':
      return 'is required in production';
    case 'string.min':
      return 'is too short (at least 32 characters)';
    case 'string.uriCustomScheme':
    case 'string.uri':
      return 'must be a mongodb:// or mongodb+srv:// URI';
    default:
      return 'has an invalid value';
  }
}
