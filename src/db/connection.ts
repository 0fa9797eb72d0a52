import mongoose, { type Connection } from 'mongoose';

/**
 * One connection per app (no module-level singleton), so every test file can
 * build an app on a database of its own.
 */
export async function connectDatabase(
  uri: string,
  options: { dbName?: string; timeoutMs: number },
): Promise<Connection> {
  const connection = mongoose.createConnection(uri, {
    dbName: options.dbName,
    serverSelectionTimeoutMS: options.timeoutMs,
    // Indexes are created explicitly at start-up and readiness waits for them.
    autoIndex: false,
    autoCreate: true,
  });
  await connection.asPromise();
  return connection;
}

/** True when the server answers a ping within the deadline. */
export async function pingDatabase(connection: Connection, timeoutMs: number): Promise<boolean> {
  if (connection.readyState !== 1 || !connection.db) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = connection.db
    .command({ ping: 1 })
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
