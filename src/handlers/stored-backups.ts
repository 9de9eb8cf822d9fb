/**
 * BACKUP_DIR as the handlers see it: the files joined with what the state database records about
 * them, and a backup chosen by name (or `latest`), refused in one sentence when it is unknown or
 * not one the bot may use.
 *
 *   const backups = await storedBackups(ctx);
 *   const backup = await chooseTrustedBackup(ctx, 'latest', 'restore'); // Refusal 'Cannot restore: … was not written by the bot: …'
 */
import path from 'node:path';
import type { Services } from '../context.js';
import type { BackupRecord } from '../ops/backup/backup-record.js';
import { listBackups, requireTrusted, resolveBackupName, UnknownBackupError, UntrustedBackupError, type StoredBackup } from '../ops/backup/list-backups.js';
import { readBackupRecords } from '../state/backup-records.js';
import { Refusal } from './refusal.js';

export function backupDir(services: Services): string {
  return path.resolve(services.config.backup.dir);
}

export async function storedBackups(services: Services): Promise<StoredBackup[]> {
  return listBackups(backupDir(services), await readBackupRecords(services.state));
}

/** A backup as BACKUP_DIR lists it, or a refusal that says why not (and changes nothing). */
export async function chooseBackup(services: Services, nameOrLatest: string, verb: string): Promise<StoredBackup> {
  try {
    return await resolveBackupName(backupDir(services), nameOrLatest, await readBackupRecords(services.state));
  } catch (error) {
    if (error instanceof UnknownBackupError) throw new Refusal(`Cannot ${verb}: ${error.message}. Nothing was touched.`);
    throw error;
  }
}

/** Only a file the bot wrote, or accepted with `backup import`, is ever verified or restored. */
export async function chooseTrustedBackup(services: Services, nameOrLatest: string, verb: string): Promise<StoredBackup & { record: BackupRecord }> {
  const backup = await chooseBackup(services, nameOrLatest, verb);
  try {
    return requireTrusted(backup);
  } catch (error) {
    if (error instanceof UntrustedBackupError) throw new Refusal(`Cannot ${verb}: ${error.message}. Nothing was touched.`);
    throw error;
  }
}
