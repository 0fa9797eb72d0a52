import Joi from 'joi';
import path from 'node:path';

/** The service's whole configuration, validated once at start-up. */
export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  /** Unset: the embedded FerretDB is started (never in production). */
  mongodbUri: string | undefined;
  adminApiKey: string;
  keysDir: string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimit: string;
  rateLimitPerMinute: number;
  dbTimeoutMs: number;
  shutdownGraceMs: number;
}

/** Known only outside production, so a dev machine starts with no setup. */
const DEV_ADMIN_API_KEY = 'dev-admin-key-not-for-production';

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
  KEYS_DIR: Joi.string().default('./keys'),
  DATA_DIR: Joi.string().default('./.data'),
  LOG_LEVEL: Joi.string()
    .valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')
    .default('info'),
  BODY_LIMIT: Joi.string()
    .pattern(/^\d+(b|kb|mb)$/)
    .default('100kb'),
  RATE_LIMIT_PER_MINUTE: Joi.number().integer().min(1).default(1200),
  DB_TIMEOUT_MS: Joi.number().integer().min(100).default(5000),
  SHUTDOWN_GRACE_MS: Joi.number().integer().min(0).default(10000),
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
  return {
    env: value.NODE_ENV,
    port: value.PORT,
    mongodbUri: value.MONGODB_URI,
    adminApiKey: value.ADMIN_API_KEY,
    keysDir: path.resolve(value.KEYS_DIR),
    dataDir: path.resolve(value.DATA_DIR),
    logLevel: value.LOG_LEVEL,
    bodyLimit: value.BODY_LIMIT,
    rateLimitPerMinute: value.RATE_LIMIT_PER_MINUTE,
    dbTimeoutMs: value.DB_TIMEOUT_MS,
    shutdownGraceMs: value.SHUTDOWN_GRACE_MS,
  };
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
