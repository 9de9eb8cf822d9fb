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

/** CPU and memory as `kubectl top` writes them, so figures read the same in Slack and in a terminal: `formatCpu(0.25)` is 250m, `formatCpu(1.5)` 1.5 cores, `formatMemory(5.4e8)` 515Mi. */
export function formatCpu(cores: number | null): string {
  if (cores === null) return 'n/a';
  if (cores < 1) return `${Math.round(cores * 1000)}m`;
  const rounded = Number(cores.toFixed(2));
  return `${rounded} ${rounded === 1 ? 'core' : 'cores'}`;
}

export function formatMemory(bytes: number | null): string {
  if (bytes === null) return 'n/a';
  const gi = bytes / 2 ** 30;
  if (gi >= 10) return `${Math.round(gi)}Gi`;
  if (gi >= 1) return `${Number(gi.toFixed(1))}Gi`;
  const mi = bytes / 2 ** 20;
  if (mi >= 1) return `${Math.round(mi)}Mi`;
  return `${Math.round(bytes / 1024)}Ki`;
}

/** `used` as a whole percentage of `total`; null when either is unknown or the total is zero. */
export function formatShare(used: number | null, total: number | null): string | null {
  if (used === null || total === null || total <= 0) return null;
  return `${Math.round((used / total) * 100)}%`;
}
