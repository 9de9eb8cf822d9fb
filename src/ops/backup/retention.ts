/**
 * BACKUP_RETENTION_DAYS: after a successful backup, backups older than that many days are deleted
 * with their sidecars — never the newest backup the bot wrote (whatever its age), never one in use
 * (being verified or restored). A trusted file's age is the time the bot recorded; any other's is
 * the time in its name, bounded by its ctime (list-backups.ts), so a name from the future cannot keep
 * a file forever. Sidecars whose backup is gone (the runbook's own `find … -delete` leaves them)
 * are removed whatever their age. Call it while holding the backup lock: then no backup is being
 * written, so a sidecar without its backup is an orphan.
 *
 *   const { deleted } = await applyRetention({ dir, retentionDays: 30, now: new Date(), records, inUse: new Set([name]) });
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { BACKUP_FILE_PATTERN, SIDECAR_SUFFIX } from './backup-name.js';
import { listBackups, newestBotBackup, type BackupRecords } from './list-backups.js';

export interface RetentionOptions {
  dir: string;
  retentionDays: number;
  now: Date;
  records: BackupRecords;
  inUse?: ReadonlySet<string>;
}

export interface RetentionResult {
  /** Backups deleted. */
  deleted: string[];
  /** Sidecars removed because their backup was gone. */
  orphanSidecars: string[];
  /** Recorded names whose file is not in BACKUP_DIR (any more): their records can go. */
  gone: string[];
}

const DAY_MS = 86_400_000;

export async function applyRetention(options: RetentionOptions): Promise<RetentionResult> {
  const cutoff = options.now.getTime() - options.retentionDays * DAY_MS;
  const backups = await listBackups(options.dir, options.records);
  const keep = newestBotBackup(backups)?.name;
  const deleted: string[] = [];
  for (const backup of backups) {
    if (backup.name === keep || backup.takenAt.getTime() >= cutoff || options.inUse?.has(backup.name)) continue;
    await rm(backup.path, { force: true });
    await rm(`${backup.path}${SIDECAR_SUFFIX}`, { force: true });
    deleted.push(backup.name);
  }
  const present = new Set(backups.map((b) => b.name).filter((name) => !deleted.includes(name)));
  const orphanSidecars = await removeOrphanSidecars(options.dir, present);
  const gone = [...options.records.keys()].filter((name) => !present.has(name));
  return { deleted, orphanSidecars, gone };
}

async function removeOrphanSidecars(dir: string, present: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(SIDECAR_SUFFIX)) continue;
    const backupName = entry.name.slice(0, -SIDECAR_SUFFIX.length);
    if (!BACKUP_FILE_PATTERN.test(backupName) || present.has(backupName)) continue;
    await rm(path.join(dir, entry.name), { force: true });
    removed.push(entry.name);
  }
  return removed;
}
