// Small pure helpers of the benchmark: medians, ratios and how numbers are written in the report.

/** Median of the numbers (the mean of the two middle ones for an even count); undefined when there are none. */
export function median(values: readonly number[]): number | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** `part / whole`, or undefined when either is missing or the whole is zero. */
export function ratio(part: number | undefined, whole: number | undefined): number | undefined {
  if (part === undefined || whole === undefined || !Number.isFinite(part) || !whole) return undefined;
  return part / whole;
}

/** A ratio as a person reads it: `0.12×` (two significant digits below 1, one decimal above). */
export function formatRatio(value: number | undefined): string {
  if (value === undefined) return '–';
  if (value >= 10) return `${Math.round(value)}×`;
  if (value >= 1) return `${value.toFixed(1)}×`;
  return `${value.toPrecision(2)}×`;
}

/** A whole number with thin grouping, e.g. `12 345`; `–` for missing. */
export function formatCount(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Milliseconds with a precision that suits their size: `0.42`, `3.1`, `120`. */
export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (value < 1) return value.toFixed(2);
  if (value < 10) return value.toFixed(1);
  return formatCount(value);
}

/** Kibibytes as mebibytes with one decimal. */
export function formatMiB(kib: number | undefined): string {
  if (kib === undefined || !Number.isFinite(kib)) return '–';
  return (kib / 1024).toFixed(1);
}

/** Bytes as MB (10^6), as `docker image ls` shows them. */
export function formatMB(bytes: number | undefined): string {
  if (bytes === undefined) return '–';
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

/** The order of the units in one round: rotated by the round number so that no unit always goes first. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
