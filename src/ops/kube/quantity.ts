/**
 * Kubernetes resource quantities as plain numbers: CPU in cores, memory in bytes.
 *
 *   parseQuantity('250m')     // 0.25
 *   parseQuantity('1500000n') // 0.0015
 *   parseQuantity('512Mi')    // 536_870_912
 *   parseQuantity('1e9')      // 1_000_000_000
 *   parseQuantity('lots')     // null
 *
 * The client library's own `quantityToScalar` throws on decimals with a suffix (`1.5Gi`) and on
 * exponents, both of which the API server hands out, so it is not used.
 */

// Decimal suffixes become an exponent, so `250m` is read as `250e-3` (exactly 0.25, no float error).
const DECIMAL_EXPONENT: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_FACTOR: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// <sign><digits>[.<digits>] then a binary/decimal SI suffix or a decimal exponent (`e3`, `E-2`).
// `1E` alone is exa; `1E3` is an exponent, as in Kubernetes' own parser.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The quantity in base units, or null when `text` is missing or not a Kubernetes quantity. */
export function parseQuantity(text: string | undefined | null): number | null {
  if (text === undefined || text === null) return null;
  const match = QUANTITY.exec(text.trim());
  if (match === null) return null;
  const [, number, exponent, suffix] = match;
  const unit = suffix ?? '';
  const binary = BINARY_FACTOR[unit];
  const value =
    exponent !== undefined ? Number(`${number}${exponent}`)
    : binary !== undefined ? Number(number) * binary
    : Number(`${number}e${DECIMAL_EXPONENT[unit] ?? NaN}`);
  return Number.isFinite(value) ? value : null;
}
