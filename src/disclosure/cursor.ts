/**
 * The pull queues' cursor: an opaque token for "after this record". The
 * version prefix lets its shape change without breaking a partner's stored
 * cursor unnoticed: an unknown version is refused, not misread.
 */

export function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`, 'utf8').toString('base64url');
}

/** The record's seq, or null when the token is not a cursor this service issued. */
export function decodeCursor(token: string): number | null {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}
