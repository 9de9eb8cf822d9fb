/**
 * BACKUP_RETENTION_DAYS: after a successful backup, backups older than that many days are deleted
 * with their sidecars — never the newest one (whatever its age), never one in use (being verified
 * or restored). Age comes from the time in the name, like the operator reads it.
 *
 *   const deleted = await applyRetention({ dir, retentionDays: 30, now: new Date(), inUse: new Set([name]) });
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { backupTakenAt, SIDECAR_SUFFIX } from './backup-name.js';
import { listBackups } from './list-backups.js';

export interface RetentionOptions {
  dir: string;
  retentionDays: number;
  now: Date;
  inUse?: ReadonlySet<string>;
}

const DAY_MS = 86_400_000;

/** Returns the names of the deleted backups. */
export async function applyRetention(options: RetentionOptions): Promise<string[]> {
  const cutoff = options.now.getTime() - options.retentionDays * DAY_MS;
  const backups = await listBackups(options.dir);
  const [, ...older] = backups;
  const deleted: string[] = [];
  for (const backup of older) {
    if (backup.takenAt.getTime() >= cutoff || options.inUse?.has(backup.name)) continue;
    await rm(backup.path, { force: true });
    await rm(`${backup.path}${SIDECAR_SUFFIX}`, { force: true });
    deleted.push(backup.name);
  }
  await removeOrphanSidecars(options.dir, cutoff, new Set(backups.map((b) => b.name)));
  return deleted;
}

/** Sidecars whose backup is gone (deleted by the runbook's `find … -delete`, or by hand) and that are past retention. */
async function removeOrphanSidecars(dir: string, cutoff: number, present: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(SIDECAR_SUFFIX)) continue;
    const backupName = entry.name.slice(0, -SIDECAR_SUFFIX.length);
    const takenAt = backupTakenAt(backupName);
    if (takenAt === undefined || present.has(backupName) || takenAt.getTime() >= cutoff) continue;
    await rm(path.join(dir, entry.name), { force: true });
  }
}
