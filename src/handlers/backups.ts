/** `backups`: the stored backups, newest first: name, size, age, verified or not. */
import path from 'node:path';
import { listBackups, type Verification } from '../ops/backup/list-backups.js';
import { defineHandler, noArgs } from './handler.js';

export interface BackupListing {
  name: string;
  sizeBytes: number;
  takenAt: Date;
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
  summary: 'the stored backups: name, size, age, verified or not',
  args: noArgs,
  async run(_args, ctx): Promise<BackupsResult> {
    const dir = path.resolve(ctx.config.backup.dir);
    const backups = await listBackups(dir);
    return {
      measuredAt: ctx.now(),
      dir,
      retentionDays: ctx.config.backup.retentionDays,
      backups: backups.map((b) => ({
        name: b.name,
        sizeBytes: b.sizeBytes,
        takenAt: b.takenAt,
        verification: b.verification,
        verifiedAt: b.verifiedAt,
        sha256: b.sha256,
      })),
    };
  },
});
