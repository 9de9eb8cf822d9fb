/**
 * What an approval request says about locks and disk (SPEC section 9): which lock each statement
 * takes and what waits on it, and how long it may wait before giving up.
 */
import { formatDuration } from '../duration.js';
import type { Config } from '../config.js';
import { MAINTENANCE_ATTEMPTS } from './maintenance-run.js';

export const LOCK_EFFECT = {
  vacuum: 'SHARE UPDATE EXCLUSIVE lock: reads and writes go on; only other maintenance and schema changes on the table wait',
  vacuumFull: 'ACCESS EXCLUSIVE lock: reads and writes of the table wait until it is done',
  concurrent: 'SHARE UPDATE EXCLUSIVE lock: reads and writes go on; only other maintenance and schema changes on the table wait',
  reindexPlain: 'SHARE lock on the table and ACCESS EXCLUSIVE on the index: writes wait, and so do reads (planning a query on the table takes all its indexes)',
  check: 'ACCESS SHARE lock: nothing waits but ALTER TABLE, DROP, TRUNCATE, VACUUM FULL',
} as const;

/** The lock policy line every maintenance request ends with. */
export function lockPolicyLine(config: Config): string {
  const wait = formatDuration(config.maintenance.lockTimeoutMs);
  return `each statement waits at most ${wait} for its lock (MAINTENANCE_LOCK_TIMEOUT), then gives up and tries again (${MAINTENANCE_ATTEMPTS} attempts), so the application's queries never queue behind it longer`;
}
