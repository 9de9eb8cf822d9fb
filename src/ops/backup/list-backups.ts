/**
 * The backups in BACKUP_DIR: every regular file named like a backup, whoever wrote it, joined with
 * what the state database records about it (ops/backup/backup-record.ts). Only a recorded file is
 * trusted (the bot wrote it, or an approved `backup import` accepted it); `latest` is the newest
 * file the bot wrote, by the time it recorded, never by a file name.
 *
 *   const backups = await listBackups('/backups/recipe-database', records);
 *   const chosen = await resolveBackupName('/backups/recipe-database', 'latest', records); // or an exact name from the list
 *   requireTrusted(chosen); // UntrustedBackupError '… was not written by the bot: `backup import …` to use it'
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { backupTakenAt, isBackupFileName } from './backup-name.js';
import type { BackupRecord } from './backup-record.js';

export type Verification = 'verified' | 'failed' | 'never';

/**
 * `bot`, `imported`: recorded, and the file is still the recorded size (its bytes are checked
 * whenever it is read); `outside`: no record (the runbook's script, a copy, a planted file);
 * `changed`: recorded, but the file on disk is not the recorded size.
 */
export type BackupTrust = 'bot' | 'imported' | 'outside' | 'changed';

export interface StoredBackup {
  name: string;
  path: string;
  sizeBytes: number;
  modifiedAt: Date;
  /**
   * When it was taken: the recorded time for a trusted file; otherwise the time in its name, but
   * never later than the file's ctime (which nobody can set), so a name from the future cannot
   * make a file look new.
   */
  takenAt: Date;
  trust: BackupTrust;
  record?: BackupRecord;
  verification: Verification;
  verifiedAt?: Date;
}

export type BackupRecords = ReadonlyMap<string, BackupRecord>;

/** Empty when the folder does not exist yet. */
export async function listBackups(dir: string, records: BackupRecords): Promise<StoredBackup[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'EACCES' || code === 'EPERM') throw new Error(`BACKUP_DIR ${dir} cannot be read by the bot (permission denied)`);
    if (code === 'ENOTDIR') throw new Error(`BACKUP_DIR ${dir} is not a folder`);
    throw error;
  }
  const backups: StoredBackup[] = [];
  // Regular files only: a symlink named like a backup could point anywhere on the machine.
  for (const entry of entries.filter((e) => e.isFile() && isBackupFileName(e.name))) {
    const file = path.join(dir, entry.name);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) continue; // deleted meanwhile
    const record = records.get(entry.name);
    const trust: BackupTrust = record === undefined ? 'outside' : record.fingerprint.sizeBytes !== info.size ? 'changed' : record.origin;
    const trusted = trust === 'bot' || trust === 'imported';
    const verification = trusted ? record?.verification : undefined;
    const named = backupTakenAt(entry.name);
    backups.push({
      name: entry.name,
      path: file,
      sizeBytes: info.size,
      modifiedAt: info.mtime,
      takenAt: trusted && record ? record.takenAt : named && named < info.ctime ? named : info.ctime,
      trust,
      record,
      verification: verification ? (verification.ok ? 'verified' : 'failed') : 'never',
      verifiedAt: verification?.ok ? new Date(verification.at) : undefined,
    });
  }
  return backups.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.name.localeCompare(a.name));
}

/** The newest backup the bot wrote itself (what `latest`, retention and the freshness metric go by). */
export function newestBotBackup(backups: readonly StoredBackup[]): StoredBackup | undefined {
  return backups.filter((b) => b.trust === 'bot').sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
}

export class UnknownBackupError extends Error {
  override name = 'UnknownBackupError';
}

export class UntrustedBackupError extends Error {
  override name = 'UntrustedBackupError';
}

/**
 * A backup chosen by an operator: `latest`, or a name exactly as `backups` lists it. Nothing else
 * is accepted (no paths, no patterns), so a name can never reach outside BACKUP_DIR.
 */
export async function resolveBackupName(dir: string, nameOrLatest: string, records: BackupRecords): Promise<StoredBackup> {
  const backups = await listBackups(dir, records);
  if (nameOrLatest === 'latest') {
    const newest = newestBotBackup(backups);
    if (newest === undefined) throw new UnknownBackupError(`there is no backup written by the bot in ${dir} yet`);
    return newest;
  }
  const found = backups.find((b) => b.name === nameOrLatest);
  if (found === undefined) {
    // Echo only harmless characters of what was typed: it ends up in a chat message.
    const shown = nameOrLatest.replace(/[^\w.-]/g, '?').slice(0, 80);
    throw new UnknownBackupError(`there is no backup named "${shown}" in ${dir}: \`backups\` lists them, or say \`latest\``);
  }
  return found;
}

/** The backup with its record, or why it may not be verified or restored. */
export function requireTrusted(backup: StoredBackup): StoredBackup & { record: BackupRecord } {
  if ((backup.trust === 'bot' || backup.trust === 'imported') && backup.record) return backup as StoredBackup & { record: BackupRecord };
  if (backup.trust === 'changed') {
    throw new UntrustedBackupError(
      `${backup.name} is not the file the bot recorded under that name (it is ${backup.sizeBytes} bytes, not ${backup.record?.fingerprint.sizeBytes ?? '?'}): \`backup import ${backup.name}\` to use it anyway`,
    );
  }
  throw new UntrustedBackupError(`${backup.name} was not written by the bot: \`backup import ${backup.name}\` to use it`);
}
