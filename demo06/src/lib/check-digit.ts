/**
 * The EAN-13 check digit (ISBN-13 is an EAN-13 in the 978/979 range): weights 1,3,1,3… over the first
 * twelve digits; the check digit brings the sum to a multiple of ten.
 */
export function ean13CheckDigit(first12: string): number {
  if (!/^\d{12}$/.test(first12)) throw new Error(`expected 12 digits, got "${first12}"`);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

export const withCheckDigit = (first12: string): string => first12 + ean13CheckDigit(first12);

export function isValidEan13(code: string): boolean {
  return /^\d{13}$/.test(code) && ean13CheckDigit(code.slice(0, 12)) === Number(code[12]);
}
