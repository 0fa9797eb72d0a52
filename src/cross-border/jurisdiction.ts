/**
 * Where a partner is, and on what basis personal data may go to it when it
 * is outside mainland China. Shared by clients (registration), disclosure
 * (receipts), the access log (event marking) and identities (the export).
 */
import countriesFile from './data/iso-3166-1-alpha-2.json';

/** ISO 3166-1 alpha-2 codes, officially assigned (data/iso-3166-1-alpha-2.json). */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(checkedCodes(countriesFile.codes));

function checkedCodes(codes: unknown): string[] {
  if (!Array.isArray(codes) || !codes.every((code) => /^[A-Z]{2}$/.test(String(code)))) {
    throw new Error('invalid ISO 3166-1 alpha-2 code list');
  }
  return codes as string[];
}

/**
 * Mainland China. Hong Kong (HK), Macau (MO) and Taiwan (TW) have their own
 * ISO codes and count as outside the mainland: the CAC's cross-border rules
 * (security assessment, standard contract, and the 2024 Provisions on
 * Promoting and Regulating Cross-Border Data Flows) apply to them as to any
 * place abroad.
 */
export const MAINLAND_CHINA = 'CN';

/**
 * The three cases in which the privacy policy lets personal data leave the
 * mainland (domain.md section 6; PIPL art. 38-39):
 * - LAW: a law or administrative regulation requires the provision (PIPL art. 38(4), art. 41);
 * - EXPLICIT_CONSENT: the person's separate consent to the transfer (PIPL art. 39);
 * - CONTRACT_NECESSITY: necessary to conclude or perform a contract the person
 *   is party to, such as a cross-border purchase or delivery (Provisions on
 *   Promoting and Regulating Cross-Border Data Flows, CAC 2024, art. 5(1)).
 */
export const CROSS_BORDER_BASES = ['LAW', 'EXPLICIT_CONSENT', 'CONTRACT_NECESSITY'] as const;
export type CrossBorderBasis = (typeof CROSS_BORDER_BASES)[number];

/** A provision of personal data to a recipient outside mainland China: where, and why allowed. */
export interface CrossBorderTransfer {
  country: string;
  basis: CrossBorderBasis;
}

export function isCountryCode(value: unknown): value is string {
  return typeof value === 'string' && COUNTRY_CODES.has(value);
}

/** True for a known country code other than mainland China's. */
export function isAbroad(country: string): boolean {
  return isCountryCode(country) && country !== MAINLAND_CHINA;
}
