/**
 * The approved restore, as the runbook's "Point-in-Time Recovery" does it by hand: one table of
 * steps run by the procedure runner. The application is scaled back whatever happened before
 * (an `always` step), and `concludeRestore` words the verdict and the state the database, the
 * application and the safety backup are left in — a pure function of the run's state, tested
 * on its own (test/handlers/restore-conclusion.test.ts).
 *
 *   const outcome = await runRestoreProcedure(plan, ctx); // procedureOutcome(report)
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../duration.js';
import { formatBytes, formatCount } from '../format.js';
import { backupFileName } from '../ops/backup/backup-name.js';
import { markBackupInUse } from '../ops/backup/backups-in-use.js';
import { countRowsReadOnly, type RowCounts } from '../ops/backup/count-rows.js';
import { checkBackupIntegrity } from '../ops/backup/integrity.js';
import type { BackupRecord } from '../ops/backup/backup-record.js';
import { requireTrusted, resolveBackupName, type StoredBackup } from '../ops/backup/list-backups.js';
import { restoreBackup, RestoreError } from '../ops/backup/restore-backup.js';
import { failure } from '../ops/failure.js';
import { readBackupRecords } from '../state/backup-records.js';
import { applicationInTrouble, applicationLine, applicationNext, applicationScaling, scaleApplicationBackStep, shortApplication, stopApplicationStep, type AppScaling } from './app-scale-steps.js';
import { backUpNow } from './back-up-now.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import { runLockedProcedure } from './locked-procedure.js';
import { watchLockWaits } from './lock-wait-watchdog.js';
import type { Conclusion, Procedure, RunRecord } from './procedure-runner.js';
import type { RestorePlan } from './restore-plan.js';

type TrustedBackup = StoredBackup & { record: BackupRecord };

/** What the database is left as; decides the "Database:" line. */
export type DatabaseState = 'unchanged' | 'rolled-back' | 'in-doubt' | 'restored';

/** Everything the steps learn as they go, and all `concludeRestore` reads. */
export interface RestoreRun {
  plan: RestorePlan;
  app: AppScaling;
  /** The file as BACKUP_DIR lists it again after approval (step 1), with the record of its bytes. */
  backup?: TrustedBackup;
  database: DatabaseState;
  counts?: 'differ' | 'unread';
  safety?: { name: string; sizeBytes: number };
  safetyProblem?: string;
}

export function newRestoreRun(plan: RestorePlan, options: { kubeConfigured: boolean; scalableDeployments: readonly string[] }): RestoreRun {
  return { plan, app: applicationScaling(plan.app, options), database: 'unchanged' };
}

/** What a restore that did not start leaves: everything as it was. */
export const RESTORE_UNTOUCHED: readonly string[] = ['Database: unchanged (nothing was restored)', 'Application: not touched'];

export async function runRestoreProcedure(plan: RestorePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  // Retention (after a backup on any path in this process) must not delete the file under us.
  const done = markBackupInUse(plan.name);
  try {
    const state = newRestoreRun(plan, { kubeConfigured: ctx.kube !== null, scalableDeployments: ctx.config.scalableDeployments });
    // A lost lock stops the restore at its next safe point: another replica may take it now.
    return await runLockedProcedure(ctx, { kind: 'restore', procedure: restoreProcedure(ctx), state, untouched: RESTORE_UNTOUCHED, again: 'the restore', stopOnShutdown: true });
  } finally {
    done();
  }
}

/** The steps, top to bottom like the runbook section they replace. */
export function restoreProcedure(ctx: ExecutionContext): Procedure<RestoreRun> {
  const dir = path.resolve(ctx.config.backup.dir);
  const app = { kube: ctx.kube, state: ctx.state, instance: ctx.instance, operation: 'restore', requestId: ctx.requestId, approvedBy: ctx.approver, notStopped: 'nothing was restored' };
  return {
    name: 'restore',
    steps: [
      {
        title: 'integrity check',
        async run(s) {
          // Looked up in the listing again: only a name BACKUP_DIR lists, and the state database vouches for, is ever opened.
          const backup = requireTrusted(await resolveBackupName(dir, s.plan.name, await readBackupRecords(ctx.state)));
          if (backup.record.fingerprint.sha256 !== s.plan.sha256) {
            throw failure(`${backup.name} is not the file that was approved: the state database now records other bytes under that name (imported again?)`);
          }
          const checked = await checkBackupIntegrity(backup.path, { expectedSha256: s.plan.sha256 });
          s.backup = backup;
          return { note: `${formatBytes(checked.fileBytes)}, the file that was approved` };
        },
      },
      stopApplicationStep((s: RestoreRun) => s.app, app),
      {
        title: 'safety backup of the current database',
        async run(s, step) {
          try {
            await nameFreeForSafetyBackup(dir, ctx.now);
            const { backup } = await backUpNow(ctx, {
              trigger: 'restore',
              requestedBy: 'restore',
              actor: ctx.approver,
              details: { requestId: ctx.requestId, restoring: s.plan.name },
              onProgress: (bytes) => step.progress(`safety backup… ${formatBytes(bytes)}`),
            });
            s.safety = { name: backup.name, sizeBytes: backup.sizeBytes };
            return { title: `safety backup ${backup.name} (${formatBytes(backup.sizeBytes)})` };
          } catch (error) {
            s.safetyProblem = step.reason(error);
            throw error;
          }
        },
      },
      {
        title: (s) => `restore ${s.plan.name}`,
        async run(s, step) {
          const backup = s.backup as TrustedBackup;
          const cancel = new AbortController();
          let shown = `restoring ${backup.name}…`;
          let psqlPid: number | undefined;
          const watch = watchLockWaits({
            db: ctx.db,
            // psql's own session, by its pid: a session that merely takes the restore's name is not it.
            session: () => psqlPid,
            limitMs: ctx.config.timeouts.restoreLockWaitMs,
            head: `restoring ${backup.name}`,
            normalText: () => shown,
            progress: step.progress,
            onStop: () => cancel.abort(),
            log: ctx.log,
          });
          try {
            await restoreBackup({
              databaseUrl: ctx.databaseUrl,
              file: backup.path,
              // Every byte psql reads is checked against the approved file first; COMMIT only after the last.
              expected: backup.record.fingerprint,
              onSession: (pid) => (psqlPid = pid),
              connectTimeoutMs: ctx.config.timeouts.connectMs,
              // A shutdown past its grace period stops psql too: the transaction rolls back.
              signal: AbortSignal.any([cancel.signal, ctx.lifecycle.stopSignal]),
              onProgress: (read, total) => {
                shown = `restoring ${backup.name}… ${formatBytes(read)} of ${formatBytes(total)}`;
                return watch.waiting() ? undefined : step.progress(shown);
              },
            });
          } catch (error) {
            const stopped = await watch.finish();
            if (stopped !== undefined) {
              // It was stopped inside its one transaction, before the COMMIT.
              s.database = 'rolled-back';
              throw failure(stopped, error);
            }
            // The bot's own BEGIN … COMMIT: anything that stopped it before the COMMIT rolled all of it back.
            if (error instanceof RestoreError) s.database = error.rolledBack ? 'rolled-back' : 'in-doubt';
            throw error;
          } finally {
            await watch.finish();
          }
          s.database = 'restored';
        },
      },
      {
        title: 'row counts',
        async run(s) {
          try {
            const counts = await readCounts(ctx);
            const atBackup = (s.backup as TrustedBackup).record.rowCounts ?? undefined;
            const { details, differ } = compareCounts(counts, atBackup);
            if (differ) s.counts = 'differ';
            return differ ? { status: 'differs', note: 'not as at backup time', details } : { details };
          } catch (error) {
            s.counts = 'unread';
            throw error;
          }
        },
      },
      scaleApplicationBackStep((s: RestoreRun) => s.app, app),
    ],
    conclude: concludeRestore,
  };
}

/** The verdict, and the state the database, the application and the safety backup are left in. */
export function concludeRestore(s: RestoreRun, record: RunRecord): Conclusion {
  const endState = [databaseLine(s), applicationLine(s.app), safetyLine(s)];
  const next = applicationNext(s.app);
  if (record.failed) {
    const { number, title, reason } = record.failed;
    return { ok: false, summary: `FAILED at step ${number} (${title}): ${reason} — ${shortState(s)}`, endState, next };
  }
  if (record.stopped) {
    const first = record.steps.find((step) => step.status === 'not-run');
    const where = first ? ` before step ${first.number ?? '?'} (${first.title})` : '';
    return { ok: false, summary: `STOPPED${where}: ${record.stopped} — ${shortState(s)}`, endState, next };
  }
  if (s.counts === 'differ') {
    return { ok: false, summary: `restored ${s.plan.name}, but the row counts differ from those at backup time — ${shortState(s)}`, endState, next };
  }
  if (applicationInTrouble(s.app)) return { ok: false, summary: `restored ${s.plan.name}, but ${shortApplication(s.app)}`, endState, next };
  return { ok: true, summary: `restored ${s.plan.name} in ${formatDuration(record.tookMs)}; ${shortApplication(s.app)}`, endState, next };
}

function databaseLine(s: RestoreRun): string {
  const safety = s.safety ? `, or restore the safety backup ${s.safety.name}` : '';
  switch (s.database) {
    case 'unchanged':
      return 'Database: unchanged (nothing was restored)';
    case 'rolled-back':
      return 'Database: unchanged (the restore ran in one transaction and was rolled back)';
    case 'in-doubt':
      return `Database: may be partially restored — psql stopped abnormally; check it${safety}`;
    case 'restored':
      if (s.counts === 'differ') return `Database: restored from ${s.plan.name}, but its row counts are not those at backup time${safety ? ` (check it${safety})` : ''}`;
      if (s.counts === 'unread') return `Database: restored from ${s.plan.name} (its row counts could not be read)`;
      return `Database: restored from ${s.plan.name}`;
  }
}

function safetyLine(s: RestoreRun): string {
  if (s.safety) return `Safety backup: ${s.safety.name} (${formatBytes(s.safety.sizeBytes)})`;
  if (s.safetyProblem) return `Safety backup: none — it failed: ${s.safetyProblem}`;
  return 'Safety backup: none (not reached)';
}

function shortState(s: RestoreRun): string {
  const database = {
    unchanged: 'database unchanged',
    'rolled-back': 'database unchanged (rolled back)',
    'in-doubt': 'database may be partially restored',
    restored: 'database restored',
  }[s.database];
  return `${database}; ${shortApplication(s.app)}`;
}

/** Each table's count, against the count at backup time when one was recorded. */
function compareCounts(counts: RowCounts, atBackup: RowCounts | undefined): { details: string[]; differ: boolean } {
  let differ = false;
  const details = Object.entries(counts).map(([table, rows]) => {
    const now = rows === null ? 'missing' : formatCount(rows);
    if (atBackup === undefined || !(table in atBackup)) return `   ${table}: ${now}`;
    const then = atBackup[table] ?? null;
    if (then === rows) return `   ${table}: ${now} (as at backup time)`;
    differ = true;
    return `   ${table}: ${now} — ${then === null ? 'missing' : formatCount(then)} at backup time`;
  });
  return { details, differ };
}

async function readCounts(ctx: ExecutionContext): Promise<RowCounts> {
  const client = await ctx.db.connect();
  try {
    return await countRowsReadOnly(client, ctx.config.verifyTables);
  } finally {
    client.release();
  }
}

/** A backup taken earlier in this same second holds the name the safety backup would get. */
async function nameFreeForSafetyBackup(dir: string, now: () => Date): Promise<void> {
  const taken = (): Promise<boolean> => stat(path.join(dir, backupFileName(now()))).then(() => true, () => false);
  for (let waited = 0; waited < 2 && (await taken()); waited++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000 - (now().getTime() % 1_000) + 5));
  }
}
