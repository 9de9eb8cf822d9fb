/**
 * The backups in BACKUP_DIR: every regular file named like a backup, whoever wrote it (files of
 * the runbook's script have no sidecar and show as not verified), newest first.
 *
 *   const backups = await listBackups('/backups/recipe-database');
 *   const chosen = await resolveBackupName('/backups/recipe-database', 'latest'); // or an exact name from the list
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { backupTakenAt, isBackupFileName } from './backup-name.js';
import { readSidecar, type BackupSidecar } from './sidecar.js';

export type Verification = 'verified' | 'failed' | 'never';

export interface StoredBackup {
  name: string;
  path: string;
  sizeBytes: number;
  modifiedAt: Date;
  /** The time in the name; the modification time for a name holding an impossible date. */
  takenAt: Date;
  verification: Verification;
  verifiedAt?: Date;
  sha256?: string;
  sidecar?: BackupSidecar;
}

/** Empty when the folder does not exist yet. */
export async function listBackups(dir: string): Promise<StoredBackup[]> {
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
    const sidecar = await readSidecar(file);
    const verification: Verification = sidecar?.verified ? 'verified' : sidecar?.verification ? 'failed' : 'never';
    backups.push({
      name: entry.name,
      path: file,
      sizeBytes: info.size,
      modifiedAt: info.mtime,
      takenAt: backupTakenAt(entry.name) ?? info.mtime,
      verification,
      verifiedAt: sidecar?.verifiedAt ? new Date(sidecar.verifiedAt) : undefined,
      sha256: sidecar?.sha256,
      sidecar,
    });
  }
  return backups.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.name.localeCompare(a.name));
}

export class UnknownBackupError extends Error {
  override name = 'UnknownBackupError';
}

/**
 * A backup chosen by an operator: `latest`, or a name exactly as `backups` lists it. Nothing else
 * is accepted (no paths, no patterns), so a name can never reach outside BACKUP_DIR.
 */
export async function resolveBackupName(dir: string, nameOrLatest: string): Promise<StoredBackup> {
  const backups = await listBackups(dir);
  if (nameOrLatest === 'latest') {
    const newest = backups[0];
    if (newest === undefined) throw new UnknownBackupError(`there are no backups in ${dir} yet`);
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
