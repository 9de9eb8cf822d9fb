/**
 * A one-line Unicode sparkline: the shape of a series where no picture can go (the console, the
 * App Home tab, a notification).
 *
 *   sparkline([0, 1, 2, 3, 4, 5, 6, 7]) // '▁▂▃▄▅▆▇█'
 *   sparkline(values, 40)              // at most 40 characters: each one the mean of its share
 *
 * A gap (null) is a space; a flat series is a flat line in the middle.
 */
const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly (number | null)[], maxWidth = Infinity): string {
  const shown = resample(values, Math.max(1, Math.floor(maxWidth)));
  const numbers = shown.filter((v): v is number => v !== null && Number.isFinite(v));
  if (numbers.length === 0) return '';
  const low = Math.min(...numbers);
  const high = Math.max(...numbers);
  return shown
    .map((v) => (v === null || !Number.isFinite(v) ? ' ' : BARS[high === low ? 3 : Math.round(((v - low) / (high - low)) * (BARS.length - 1))]))
    .join('');
}

/** At most `width` values, each the mean of the values it stands for (null when they all are). */
function resample(values: readonly (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return [...values];
  const out: (number | null)[] = [];
  for (let i = 0; i < width; i++) {
    const part = values.slice(Math.floor((i * values.length) / width), Math.floor(((i + 1) * values.length) / width));
    const numbers = part.filter((v): v is number => v !== null && Number.isFinite(v));
    out.push(numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0) / numbers.length);
  }
  return out;
}
