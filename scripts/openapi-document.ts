import { Writable } from 'node:stream';
import mongoose from 'mongoose';
import request from 'supertest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';

/**
 * The document exactly as the app serves it at GET /openapi.json. Routes are
 * declared when the app is built, not when it connects: an unconnected
 * mongoose connection is enough, and start() (indexes, keys) is never called.
 */
export async function servedOpenApiDocument(): Promise<object> {
  const config = loadConfig({
    NODE_ENV: 'test',
    ADMIN_API_KEY: 'openapi-document-only-never-serves-requests',
    MONGODB_URI: 'mongodb://127.0.0.1:9/unused',
  });
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const connection = mongoose.createConnection();
  const built = createApp({ config, connection, logger: createLogger('info', silent) });
  const response = await request(built.app).get('/openapi.json');
  if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
  return response.body as object;
}
