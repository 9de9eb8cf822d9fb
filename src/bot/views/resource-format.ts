/**
 * CPU and memory as `kubectl top` writes them, so figures read the same in Slack and in a terminal.
 *
 *   formatCpu(0.25)        // '250m'
 *   formatCpu(1.5)         // '1.5 cores'
 *   formatMemory(5.4e8)    // '515Mi'
 *   formatShare(0.12, 1)   // '12%'
 */

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
