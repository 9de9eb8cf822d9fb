/**
 * `backups`: the stored backups, newest first: name, size, age, verified or not, and whether the
 * bot may use it (a file it did not write needs `backup import <name>` first).
 */
import type { BackupTrust, Verification } from '../ops/backup/list-backups.js';
import { defineHandler, noArgs } from './handler.js';
import { backupDir, storedBackups } from './stored-backups.js';

export interface BackupListing {
  name: string;
  sizeBytes: number;
  takenAt: Date;
  trust: BackupTrust;
  verification: Verification;
  verifiedAt?: Date;
  sha256?: string;
}

export interface BackupsResult {
  measuredAt: Date;
  dir: string;
  retentionDays: number;
  backups: BackupListing[];
}

export const backupsHandler = defineHandler({
  name: 'backups',
  usage: 'backups',
  summary: 'the stored backups: name, size, age, verified or not, written by the bot or not',
  args: noArgs,
  async run(_args, ctx): Promise<BackupsResult> {
    const backups = await storedBackups(ctx);
    return {
      measuredAt: ctx.now(),
      dir: backupDir(ctx),
      retentionDays: ctx.config.backup.retentionDays,
      backups: backups.map((b) => ({
        name: b.name,
        sizeBytes: b.sizeBytes,
        takenAt: b.takenAt,
        trust: b.trust,
        verification: b.verification,
        verifiedAt: b.verifiedAt,
        sha256: b.record?.fingerprint.sha256,
      })),
    };
  },
});
