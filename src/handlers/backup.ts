/**
 * `backup`: a backup now (SPEC section 5), reporting progress while pg_dump runs, then retention.
 * `backup verify <name|latest>`: proves a stored backup restores, in a scratch database (verify-now.ts).
 * (`backup import <name>` is a gated command of its own: backup-import.ts.)
 */
import path from 'node:path';
import { z } from 'zod';
import { formatBytes } from '../format.js';
import { markBackupInUse } from '../ops/backup/backups-in-use.js';
import type { RowCounts } from '../ops/backup/count-rows.js';
import type { BackupVerification } from '../ops/backup/verify-backup.js';
import { backUpNow } from './back-up-now.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { chooseTrustedBackup } from './stored-backups.js';
import { verifyNow } from './verify-now.js';

type BackupArgs = { action: 'backup' } | { action: 'verify'; name: string };

export interface BackupTaken {
  kind: 'backup';
  measuredAt: Date;
  dir: string;
  name: string;
  sizeBytes: number;
  dumpBytes: number;
  sha256: string;
  durationMs: number;
  /** Dump bytes per second. */
  throughput: number;
  rowCounts: RowCounts;
  rowCountsTaken: 'same-snapshot' | 'separately';
  retentionDays: number;
  deleted: string[];
  warnings: string[];
}

export interface BackupVerified {
  kind: 'verify';
  measuredAt: Date;
  verification: BackupVerification;
}

export type BackupCommandResult = BackupTaken | BackupVerified;

const USAGE_PROBLEM = 'takes no arguments to back up now, or `verify <name|latest>`, or `import <name>`';

const backupArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx): BackupArgs => {
    if (Object.keys(raw.flags).length > 0) {
      ctx.addIssue({ code: 'custom', message: 'takes no options' });
      return z.NEVER;
    }
    const [first, ...rest] = raw.positional;
    if (first === undefined) return { action: 'backup' };
    if (first.toLowerCase() !== 'verify') {
      ctx.addIssue({ code: 'custom', message: USAGE_PROBLEM });
      return z.NEVER;
    }
    if (rest.length !== 1 || !rest[0]) {
      ctx.addIssue({ code: 'custom', message: 'verify takes one backup name (as `backups` lists it) or `latest`' });
      return z.NEVER;
    }
    return { action: 'verify', name: rest[0] };
  });

export const backupHandler = defineHandler({
  name: 'backup',
  usage: 'backup · backup verify <name|latest> · backup import <name>',
  summary: 'a backup now (gzip of pg_dump --clean --if-exists, then retention); `verify` restores one into a scratch database to prove it',
  args: backupArgs,
  async run(args, ctx): Promise<BackupCommandResult> {
    return args.action === 'verify' ? verify(args.name, ctx) : backUp(ctx);
  },
});

async function backUp(ctx: HandlerContext): Promise<BackupTaken> {
  const dir = path.resolve(ctx.config.backup.dir);
  await ctx.progress('Backing up the database…');
  const taken = await backUpNow(ctx, {
    trigger: 'manual',
    requestedBy: ctx.actor.userId,
    actor: ctx.actor.userId,
    channel: ctx.actor.channelId,
    onProgress: (bytes) => ctx.progress(`Backing up… ${formatBytes(bytes)} dumped so far`),
  }).catch((error: unknown) => {
    if (ctx.lifecycle.stopSignal.aborted) throw new Error('the bot was restarting and stopped the backup before it finished; no file was kept — run `backup` again');
    throw error;
  });
  const { backup } = taken;
  const warnings = [...backup.warnings];
  if (taken.retentionProblem) warnings.push(`retention did not run: ${taken.retentionProblem}`);
  return {
    kind: 'backup',
    measuredAt: backup.finishedAt,
    dir,
    name: backup.name,
    sizeBytes: backup.sizeBytes,
    dumpBytes: backup.dumpBytes,
    sha256: backup.sha256,
    durationMs: backup.durationMs,
    throughput: backup.throughput,
    rowCounts: backup.rowCounts,
    rowCountsTaken: backup.rowCountsTaken,
    retentionDays: ctx.config.backup.retentionDays,
    deleted: taken.deleted,
    warnings,
  };
}

async function verify(nameOrLatest: string, ctx: HandlerContext): Promise<BackupVerified> {
  const backup = await chooseTrustedBackup(ctx, nameOrLatest, 'verify');
  const done = markBackupInUse(backup.name);
  let verification: BackupVerification;
  try {
    verification = await verifyNow(ctx, backup, { requestedBy: ctx.actor.userId, onProgress: (stage) => ctx.progress(stage) });
  } finally {
    done();
  }
  await ctx.recorder.record({
    actor: ctx.actor.userId,
    channel: ctx.actor.channelId,
    kind: 'backup',
    action: verification.ok ? 'backup.verified' : 'backup.verification-failed',
    summary: verification.ok ? `Backup ${backup.name} verified` : `Backup ${backup.name} failed verification: ${verification.problems[0] ?? ''}`,
    details: { name: backup.name, problems: verification.problems, checks: verification.checks },
    // The command's verdict line is the timeline's one entry for this result; this one keeps the details in the audit log.
    timeline: false,
  });
  return { kind: 'verify', measuredAt: verification.verifiedAt, verification };
}
