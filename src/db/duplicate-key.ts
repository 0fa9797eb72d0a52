/** MongoDB's (and FerretDB's) duplicate-key error code. */
const DUPLICATE_KEY = 11000;

/**
 * True when a write lost to a unique index. Inserts with a unique key are the
 * one compare-and-set both engines make atomic, so stores lean on this.
 */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

/** Runs an insert; a duplicate key is an answer ('duplicate'), not an error. */
export async function insertUnique(
  insert: () => Promise<unknown>,
): Promise<'inserted' | 'duplicate'> {
  try {
    await insert();
    return 'inserted';
  } catch (error) {
    if (isDuplicateKey(error)) return 'duplicate';
    throw error;
  }
}
