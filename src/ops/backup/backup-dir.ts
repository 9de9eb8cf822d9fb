/**
 * BACKUP_DIR itself: created when missing, refused with one sentence when it cannot hold backups,
 * and cleared of temporary files that a killed process left behind.
 *
 *   await prepareBackupDir('/backups/recipe-database'); // throws 'BACKUP_DIR /backups/… is not writable by the bot'
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_FILE_PATTERN } from './backup-name.js';

/** A sidecar being rewritten by a verification elsewhere is younger than this. */
const STALE_SIDECAR_PARTIAL_MS = 60 * 60 * 1000;

export async function prepareBackupDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw dirError(error, dir, 'cannot be created');
  }
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw dirError(error, dir, 'cannot be read');
  }
  if (!info.isDirectory()) throw new Error(`BACKUP_DIR ${dir} is not a folder`);
  try {
    await access(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (error) {
    throw dirError(error, dir, 'is not writable by the bot');
  }
}

/**
 * Removes temporary files of backups that never finished. Call it only while holding the backup
 * lock: then no backup is being written, so every temporary backup file is stale.
 */
export async function removeStalePartials(dir: string, now: Date): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !PARTIAL_FILE_PATTERN.test(entry.name)) continue;
    const file = path.join(dir, entry.name);
    if (!entry.name.endsWith('.sql.gz.partial')) {
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || now.getTime() - info.mtimeMs < STALE_SIDECAR_PARTIAL_MS) continue;
    }
    await rm(file, { force: true });
    removed.push(entry.name);
  }
  return removed;
}

/** Makes a rename or unlink in `dir` durable. Some file systems cannot sync a folder; that is not worth failing for. */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EBADF', 'ENOTSUP'].includes(code ?? '')) throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** A file-system error as the sentence an operator reads. */
export function fileSystemProblem(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOTDIR':
      return 'part of the path is a file, not a folder';
    case 'ENOENT':
      return 'the folder does not exist';
    case 'EIO':
      return 'an input/output error on the device';
    default:
      return e.message ?? String(error);
  }
}

function dirError(error: unknown, dir: string, what: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return new Error(`BACKUP_DIR ${dir} is not a folder`);
  if (code === 'ENOTDIR') return new Error(`BACKUP_DIR ${dir} is not a folder (${fileSystemProblem(error)})`);
  return new Error(`BACKUP_DIR ${dir} ${what}: ${fileSystemProblem(error)}`);
}
