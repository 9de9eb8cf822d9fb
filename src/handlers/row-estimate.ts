/** A table's estimated rows as a request shows them: `~50,000 rows`, or that nobody counted yet. */
import { formatCount } from '../format.js';

export function rowEstimate(rows: number | null): string {
  return rows === null ? 'rows not estimated yet (never analyzed)' : `~${formatCount(Math.round(rows))} rows`;
}
