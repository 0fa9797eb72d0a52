/** Leading bytes that identify each accepted image type (JPEG SOI + marker; the PNG signature). */
const SIGNATURES: readonly { type: 'image/jpeg' | 'image/png'; magic: Buffer }[] = [
  { type: 'image/jpeg', magic: Buffer.from([0xff, 0xd8, 0xff]) },
  { type: 'image/png', magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
];

export const PHOTO_TYPES = SIGNATURES.map((signature) => signature.type);

/** The image type the bytes start with, or null: the declared Content-Type alone is not trusted. */
export function imageTypeOf(bytes: Buffer): 'image/jpeg' | 'image/png' | null {
  for (const { type, magic } of SIGNATURES) {
    if (bytes.length > magic.length && bytes.subarray(0, magic.length).equals(magic)) return type;
  }
  return null;
}
