/**
 * The backup file name the runbook and the contract fix (SPEC section 5), and the names of the
 * files that travel with it: the sidecar (`<name>.json`) and the temporary file a backup is
 * written to before it is complete.
 *
 *   backupFileName(new Date('2026-01-15T10:30:00Z')) // 'recipe-database-backup-2026-01-15_10-30-00.sql.gz'
 *   backupTakenAt('recipe-database-backup-2026-01-15_10-30-00.sql.gz') // 2026-01-15T10:30:00.000Z
 */
export const BACKUP_FILE_PATTERN = /^recipe-database-backup-(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})\.sql\.gz$/;

/** Dot-prefixed so `ls` and the runbook's `find -name "recipe-database-backup-*.sql.gz"` pass it by. */
export const PARTIAL_FILE_PATTERN = /^\.recipe-database-backup-.*\.partial$/;

export const SIDECAR_SUFFIX = '.json';

export function isBackupFileName(name: string): boolean {
  return BACKUP_FILE_PATTERN.test(name);
}

/** `recipe-database-backup-YYYY-MM-DD_HH-MM-SS.sql.gz`, in UTC like the runbook's `date` in a UTC pod. */
export function backupFileName(at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replace('T', '_').replaceAll(':', '-');
  return `recipe-database-backup-${stamp}.sql.gz`;
}

/** The time in the name, or undefined when the name does not match or holds an impossible date. */
export function backupTakenAt(name: string): Date | undefined {
  const match = BACKUP_FILE_PATTERN.exec(name);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2024-02-30 over into March: only a round trip proves the name held a real time.
  return backupFileName(at) === name ? at : undefined;
}

export function partialFileName(backupName: string): string {
  return `.${backupName}.partial`;
}
