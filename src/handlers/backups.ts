/**
 * `backups`: the stored backups, newest first: name, size, age, verified or not, and whether the
 * bot may use it (a file it did not write needs `backup import <name>` first); with pgBackRest
 * configured, its base backups too.
 */
import type { BackupTrust, Verification } from '../ops/backup/list-backups.js';
import { describeFailure } from '../ops/failure.js';
import { readStanzaInfo } from '../ops/pitr/pgbackrest-info.js';
import { defineHandler, noArgs } from './handler.js';
import { listing, type PitrBackupListing } from './pitr.js';
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
  /** pgBackRest's base backups (point-in-time recovery), when PGBACKREST_STANZA is set. */
  pitr?: { stanza: string; backups: PitrBackupListing[] } | { stanza: string; problem: string };
}

export const backupsHandler = defineHandler({
  name: 'backups',
  usage: 'backups',
  summary: 'the stored backups: name, size, age, verified or not, written by the bot or not',
  args: noArgs,
  async run(_args, ctx): Promise<BackupsResult> {
    const [backups, pitr] = await Promise.all([
      storedBackups(ctx),
      ctx.pitr &&
        readStanzaInfo(ctx.pitr.pgbackrest).then(
          (info) => ({ stanza: info.name, backups: info.backups.map((b) => listing(b, null)) }),
          (error: unknown) => ({ stanza: ctx.pitr?.stanza ?? '', problem: describeFailure(error) }),
        ),
    ]);
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
      ...(pitr ? { pitr } : {}),
    };
  },
});
