/**
 * `restore <name|latest>` (SPEC section 5): the plan names the backup exactly as BACKUP_DIR lists
 * it, with the checksum of the file that was checked whole, and the application that will be
 * stopped around the restore. An unknown or corrupt file, or one the bot did not write (and
 * nobody imported), is refused here, before any approval is requested; the executor
 * (restore-procedure.ts) checks the file again after approval, and every byte as psql reads it.
 */
import { z } from 'zod';
import { formatBytes, formatTime } from '../format.js';
import { markBackupInUse } from '../ops/backup/backups-in-use.js';
import { BackupIntegrityError, checkBackupIntegrity, type BackupIntegrity } from '../ops/backup/integrity.js';
import type { BackupRecord } from '../ops/backup/backup-record.js';
import type { StoredBackup } from '../ops/backup/list-backups.js';
import { readReplicas } from '../ops/kube/deployments.js';
import { kubeCall } from '../ops/kube/kube-failure.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';
import { Refusal } from './refusal.js';
import { isPitrRestore, planPitrRestore, PITR_RESTORE_USAGE, routeToTime } from './pitr-restore.js';
import type { PitrRestorePlan } from './pitr-restore-plan.js';
import { runRestoreProcedure } from './restore-procedure.js';
import { restorePlan, type RestorePlan } from './restore-plan.js';
import { backupDir, chooseTrustedBackup } from './stored-backups.js';

const restoreArgs = z
  .object({
    positional: z.array(z.string()).length(1, 'takes one backup name (as `backups` lists it) or `latest`'),
    flags: z.record(z.string(), z.unknown()).refine((f) => Object.keys(f).length === 0, 'takes no options'),
  })
  .transform((raw) => ({ name: raw.positional[0] as string }));

export const restoreHandler = defineHandler({
  name: 'restore',
  usage: `restore <name|latest> · ${PITR_RESTORE_USAGE}`,
  summary: 'replace the database with a stored backup: stops the application, takes a safety backup, restores, counts rows, starts it again',
  gated: true,
  args: routeToTime(restoreArgs),
  async run(args, ctx): Promise<GatedResult<RestorePlan | PitrRestorePlan>> {
    if (isPitrRestore(args)) return planPitrRestore(args, ctx);
    const dir = backupDir(ctx);
    const backup = await chooseTrustedBackup(ctx, args.name, 'restore');
    await ctx.progress(`Checking the integrity of ${backup.name} (${formatBytes(backup.sizeBytes)})…`);
    const integrity = await checkWhole(backup);

    const { namespace, deployment } = ctx.config.app;
    let appTarget: string;
    if (ctx.kube) {
      const replicas = await kubeCall(readReplicas(ctx.kube, namespace, deployment), {
        what: `read the deployment ${namespace}/${deployment}`,
        notFound: `the application APP_DEPLOYMENT ${namespace}/${deployment} does not exist in Kubernetes, so the restore could not stop it: fix APP_NAMESPACE/APP_DEPLOYMENT`,
      });
      appTarget =
        replicas === 0
          ? `application ${namespace}/${deployment}: already at 0 replicas, left at 0`
          : `application ${namespace}/${deployment}: ${replicas} → 0 replicas during the restore, then back to ${replicas}`;
    } else {
      appTarget = `application ${namespace}/${deployment}: will NOT be stopped — Kubernetes is not configured, so it keeps running while its database is replaced (stop it by hand first)`;
    }

    const database = databaseName(ctx.databaseUrl);
    const takenAt = formatTime(backup.takenAt);
    const verified = backup.verification === 'verified' ? 'verified' : backup.verification === 'failed' ? 'FAILED its last verification' : 'not verified';
    const origin = backup.record.origin === 'bot' ? 'written by the bot' : `imported (not written by the bot), approved by ${backup.record.approvedBy ?? '?'}`;
    const unstopped = ctx.kube ? '' : ' — the application will NOT be stopped (Kubernetes is not configured)';
    return planned(
      'restore',
      `replace the database ${database} with the backup ${backup.name}${unstopped}`,
      [
        `database ${database} ← ${backup.name} (${origin}, taken ${takenAt}, ${formatBytes(integrity.fileBytes)}, ${verified}, SHA-256 ${integrity.sha256.slice(0, 12)}…)`,
        appTarget,
        `a safety backup of the current database is taken first, into ${dir}`,
      ],
      { name: backup.name, sha256: integrity.sha256, sizeBytes: integrity.fileBytes, app: { namespace, deployment } },
    );
  },
});

export const restoreAction: GatedAction<RestorePlan> = {
  action: 'restore',
  plan: restorePlan,
  execute: (plan, ctx) => runRestoreProcedure(plan, ctx),
};

/** Whole, and the bytes the state database recorded. */
async function checkWhole(backup: StoredBackup & { record: BackupRecord }): Promise<BackupIntegrity> {
  const done = markBackupInUse(backup.name);
  try {
    return await checkBackupIntegrity(backup.path, { expectedSha256: backup.record.fingerprint.sha256 });
  } catch (error) {
    if (error instanceof BackupIntegrityError) {
      throw new Refusal(`Cannot restore: ${error.message}. Nothing was touched and no approval was requested.`);
    }
    throw error;
  } finally {
    done();
  }
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return 'the operated database';
  }
}
