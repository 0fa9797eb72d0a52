import mongoose, { type ConnectOptions, type Connection } from 'mongoose';

export interface DatabaseTimeouts {
  /** Server selection and opening a connection. */
  timeoutMs: number;
  /** One operation, end to end; default 10 s. */
  operationTimeoutMs?: number;
}

/**
 * One connection per app (no module-level singleton), so every test file can
 * build an app on a database of its own.
 *
 * Every operation is bounded, so a paused or partitioned database turns into a
 * prompt 503 rather than a request that hangs: the socket timeout ends a wait
 * for any reply (a stopped server accepts TCP but never answers), the
 * wait-queue and buffer timeouts end a wait for a connection, and maxTimeMS
 * (four fifths of the bound) asks MongoDB to stop a runaway query itself, so
 * its answer arrives before the socket gives up.
 */
export async function connectDatabase(
  uri: string,
  options: DatabaseTimeouts & { dbName?: string },
): Promise<Connection> {
  const operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
  // bufferTimeoutMS is a mongoose connection option its typings do not list.
  const connectOptions: ConnectOptions & { bufferTimeoutMS: number } = {
    dbName: options.dbName,
    serverSelectionTimeoutMS: options.timeoutMs,
    connectTimeoutMS: options.timeoutMs,
    socketTimeoutMS: operationTimeoutMs,
    waitQueueTimeoutMS: operationTimeoutMs,
    bufferTimeoutMS: operationTimeoutMs,
    // Indexes are created explicitly at start-up and readiness waits for them.
    autoIndex: false,
    autoCreate: true,
  };
  const connection = mongoose.createConnection(uri, connectOptions);
  connection.set('maxTimeMS', Math.floor(operationTimeoutMs * 0.8));
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
