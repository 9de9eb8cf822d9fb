/** Number, size and time formatting shared by views and progress messages (plain text, no Slack markup). */

/** Binary units, named as such (KiB = 1024 B): what PostgreSQL and Kubernetes sizes are made of. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  // On the value as printed: 1023.9 B is "1.0 KiB", not "1024 B"; 99.97 KiB is "100 KiB", not "100.0 KiB".
  const shown = (v: number, u: number): string => (v >= 99.95 || u === 0 ? String(Math.round(v)) : v.toFixed(1));
  while (Number(shown(value, unit)) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${shown(value, unit)} ${units[unit]}`;
}

export function formatPercent(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${(ratio * 100).toFixed(2)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
