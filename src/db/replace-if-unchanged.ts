import type { Model } from 'mongoose';
import { isDuplicateKey } from './duplicate-key';

/**
 * Compare-and-set of some fields of one document (single-document atomicity,
 * which every engine gives): sets `next` only while every field in `expected`
 * still holds its value. 'changed' when a writer got there first, 'conflict'
 * when a unique index refuses the new values.
 */
export async function replaceIfUnchanged<T>(
  model: Model<T>,
  filter: Record<string, unknown>,
  expected: Record<string, string>,
  next: Record<string, string>,
): Promise<'replaced' | 'changed' | 'conflict'> {
  try {
    const result = await model.updateOne(
      { ...filter, ...expected } as never,
      { $set: next } as never,
    );
    return result.modifiedCount === 1 ? 'replaced' : 'changed';
  } catch (error) {
    if (isDuplicateKey(error)) return 'conflict';
    throw error;
  }
}
