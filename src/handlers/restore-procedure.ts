/**
 * The approved restore, as the runbook's "Point-in-Time Recovery" does it by hand, in six timed
 * steps: integrity check (again: the file must still be the one approved), scale the application
 * to 0, safety backup of the current database, restore (one transaction, ON_ERROR_STOP), row
 * counts of VERIFY_TABLES, and the application scaled back to what it was — also when a step
 * failed. The report ends with the state the database and the application are left in.
 * While psql waits for a lock (pg_dump's `lock_timeout = 0` would let it wait forever), the
 * progress names the session holding it; past the limit the restore is stopped and rolled back.
 *
 *   const outcome = await runRestoreProcedure(plan, ctx); // { ok, summary, lines: ['1. integrity check — ok (0.4s)', …] }
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../duration.js';
import { formatBytes, formatCount } from '../format.js';
import { backupFileName } from '../ops/backup/backup-name.js';
import { markBackupInUse } from '../ops/backup/backups-in-use.js';
import { countRows, type RowCounts } from '../ops/backup/count-rows.js';
import { checkBackupIntegrity } from '../ops/backup/integrity.js';
import { resolveBackupName, type StoredBackup } from '../ops/backup/list-backups.js';
import { acquireOperationLock, OperationRunningError, type OperationLock } from '../ops/operation-lock.js';
import { restoreBackup, RestoreError } from '../ops/backup/restore-backup.js';
import { readSidecar } from '../ops/backup/sidecar.js';
import { takeBackup } from '../ops/backup/take-backup.js';
import { KUBE_CALL_TIMEOUT_MS, readDeploymentReplicas, readReplicas, setReplicas, waitForReplicas, type DeploymentReplicas } from '../ops/kube/deployments.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { kubeFailure } from '../ops/kube/kube-failure.js';
import { endWaitingSession, readLockWaits, sessionGone, type Blocker, type LockWait } from '../ops/postgres/lock-wait.js';
import { BOT_APPLICATION_NAME } from '../ops/postgres/pool.js';
import { createScrubber, type Scrubber } from '../redact.js';
import { withTimeout } from '../with-timeout.js';
import { describeFailure } from '../ops/failure.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import type { RestorePlan } from './restore-plan.js';

const STOP_TIMEOUT_MS = 2 * 60_000;
const START_TIMEOUT_MS = 5 * 60_000;
/** Counting big tables takes longer than the pool's statement timeout allows for a status query. */
const COUNT_STATEMENT_TIMEOUT = '10min';
const TOTAL_STEPS = 6;
const MAX_REASON = 400;
/**
 * pg_dump's output sets `lock_timeout = 0`: a session holding a table the dump drops would keep
 * the restore waiting forever. Past RESTORE_LOCK_WAIT (config) the restore is stopped and rolled
 * back. The wait is checked this often (or four times per limit, when that is shorter), because
 * the restore's byte progress stops moving exactly when psql waits.
 */
const LOCK_CHECK_INTERVAL_MS = 2_000;
/** How long a terminated restore session may take to exit before the report says it still holds locks. */
const SESSION_EXIT_WAIT_MS = 5_000;
/** The restore's psql session (restore-backup.ts), as pg_stat_activity shows it. */
const RESTORE_APPLICATION_NAME = 'recipedb-ops restore';
const MAX_HOLDERS_SHOWN = 3;

type StepStatus = 'ok' | 'failed' | 'skipped' | 'differs';

interface StepReport {
  title: string;
  status: StepStatus;
  ms: number;
  note?: string;
  /** Lines shown under the step (row counts). */
  details?: string[];
}

interface StepDone {
  title?: string;
  status?: StepStatus;
  note?: string;
  details?: string[];
}

/** The procedure's own sentence, longer than describeFailure keeps. */
class RestoreStopped extends Error {
  override name = 'RestoreStopped';
}

/** What the database is left as; decides the "Database:" line. */
type DatabaseState = 'unchanged' | 'rolled-back' | 'in-doubt' | 'restored';

export async function runRestoreProcedure(plan: RestorePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  let lock: OperationLock;
  try {
    lock = await acquireOperationLock(ctx.state, { kind: 'restore', by: ctx.approver });
  } catch (error) {
    if (!(error instanceof OperationRunningError)) throw error;
    return {
      ok: false,
      summary: `${error.message}; nothing was done`,
      lines: ['Database: unchanged (nothing was restored)', 'Application: not touched', 'Run the restore again once the other operation has finished.'],
    };
  }
  // Retention (after a backup on any path in this process) must not delete the file under us.
  const done = markBackupInUse(plan.name);
  const limitMs = ctx.config.timeouts.restoreLockWaitMs;
  const run = new RestoreRun(plan, ctx, { lockWaitLimitMs: limitMs, lockCheckIntervalMs: Math.min(LOCK_CHECK_INTERVAL_MS, limitMs / 4) });
  try {
    await run.perform();
  } finally {
    done();
    await lock.release();
  }
  return run.outcome();
}

class RestoreRun {
  private readonly started = performance.now();
  private readonly steps: (StepReport | undefined)[] = [];
  private readonly scrub: Scrubber;
  private readonly dir: string;
  private failure: { step: number; title: string; reason: string } | undefined;
  private database: DatabaseState = 'unchanged';
  private countsProblem: 'differ' | 'unread' | undefined;
  private safety: { name: string; sizeBytes: number } | undefined;
  private safetyProblem: string | undefined;
  /** Replicas the application had before the restore; undefined until read. */
  private appReplicas: number | undefined;
  private appStopTried = false;
  private appEnd: { kind: 'back'; ready: number } | { kind: 'not-ready'; ready: number } | { kind: 'failed'; reason: string; now: number | undefined } | undefined;

  constructor(
    private readonly plan: RestorePlan,
    private readonly ctx: ExecutionContext,
    private readonly options: { lockWaitLimitMs: number; lockCheckIntervalMs: number },
  ) {
    this.scrub = createScrubber(ctx.config.secrets);
    this.dir = path.resolve(ctx.config.backup.dir);
  }

  private get appName(): string {
    return `${this.plan.app.namespace}/${this.plan.app.deployment}`;
  }

  async perform(): Promise<void> {
    try {
      const backup = await this.checkIntegrity();
      if (backup === undefined) return;
      if (!(await this.stopApplication())) return;
      if (!(await this.takeSafetyBackup())) return;
      if (!(await this.restore(backup))) return;
      await this.countRestoredRows(backup);
    } finally {
      await this.startApplication();
    }
  }

  private async checkIntegrity(): Promise<StoredBackup | undefined> {
    let backup: StoredBackup | undefined;
    const ok = await this.step(1, 'integrity check', async () => {
      // Looked up in the listing again: only a name BACKUP_DIR lists is ever opened.
      backup = await resolveBackupName(this.dir, this.plan.name);
      const checked = await checkBackupIntegrity(backup.path, { expectedSha256: this.plan.sha256 });
      return { note: `${formatBytes(checked.fileBytes)}, the file that was approved` };
    });
    return ok ? backup : undefined;
  }

  private async stopApplication(): Promise<boolean> {
    const kube = this.ctx.kube;
    const { namespace, deployment } = this.plan.app;
    return this.step(2, `stop the application ${this.appName}`, async () => {
      if (!kube) return { status: 'skipped', note: 'Kubernetes is not configured' };
      const replicas = await this.kubeCall(readReplicas(kube, namespace, deployment), `read the deployment ${this.appName}`);
      this.appReplicas = replicas;
      const title = `scale ${this.appName} ${replicas} → 0`;
      if (replicas === 0) return { title, note: 'it was already at 0 replicas' };
      this.appStopTried = true;
      await this.kubeCall(setReplicas(kube, namespace, deployment, 0), `scale the deployment ${this.appName}`);
      const { done, state } = await this.waitFor(kube, 0, STOP_TIMEOUT_MS, (s) => `Step 2/${TOTAL_STEPS}: stopping ${this.appName}… ${s.ready} ready`);
      if (!done) throw new Error(`${this.appName} still had ${state.ready} ready pods after ${formatDuration(STOP_TIMEOUT_MS)}; nothing was restored`);
      return { title };
    });
  }

  private async takeSafetyBackup(): Promise<boolean> {
    const { config } = this.ctx;
    return this.step(3, 'safety backup of the current database', async () => {
      try {
        await this.nameFreeForSafetyBackup();
        const taken = await takeBackup({
          state: this.ctx.state,
          databaseUrl: this.ctx.databaseUrl,
          dir: this.dir,
          retentionDays: config.backup.retentionDays,
          verifyTables: config.verifyTables,
          requestedBy: 'restore',
          now: this.ctx.now,
          connectTimeoutMs: config.timeouts.connectMs,
          signal: this.ctx.lifecycle.stopSignal,
          onProgress: (bytes) => this.progress(`Step 3/${TOTAL_STEPS}: safety backup… ${formatBytes(bytes)}`),
        });
        const { backup } = taken;
        this.safety = { name: backup.name, sizeBytes: backup.sizeBytes };
        this.ctx.metrics.backupDuration.observe({ trigger: 'restore' }, backup.durationMs / 1000);
        this.ctx.metrics.backupSize.observe({ trigger: 'restore' }, backup.sizeBytes);
        return { title: `safety backup ${backup.name} (${formatBytes(backup.sizeBytes)})` };
      } catch (error) {
        this.ctx.metrics.backupFailures.inc({ trigger: 'restore' });
        this.safetyProblem = this.reason(error);
        throw error;
      }
    });
  }

  /** A backup taken earlier in this same second holds the name the safety backup would get. */
  private async nameFreeForSafetyBackup(): Promise<void> {
    const taken = (): Promise<boolean> => stat(path.join(this.dir, backupFileName(this.ctx.now()))).then(() => true, () => false);
    for (let waited = 0; waited < 2 && (await taken()); waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000 - (this.ctx.now().getTime() % 1_000) + 5));
    }
  }

  private async restore(backup: StoredBackup): Promise<boolean> {
    return this.step(4, `restore ${backup.name}`, async () => {
      const cancel = new AbortController();
      let shown = `Step 4/${TOTAL_STEPS}: restoring ${backup.name}…`;
      const watch = this.watchLockWaits(backup.name, cancel, () => shown);
      try {
        await restoreBackup({
          databaseUrl: this.ctx.databaseUrl,
          file: backup.path,
          connectTimeoutMs: this.ctx.config.timeouts.connectMs,
          // A shutdown past its grace period stops psql too: the transaction rolls back.
          signal: AbortSignal.any([cancel.signal, this.ctx.lifecycle.stopSignal]),
          onProgress: (read, total) => {
            shown = `Step 4/${TOTAL_STEPS}: restoring ${backup.name}… ${formatBytes(read)} of ${formatBytes(total)}`;
            return watch.waiting() ? undefined : this.progress(shown);
          },
        });
      } catch (error) {
        const stopped = await watch.finish();
        if (stopped !== undefined) {
          // It was stopped inside its one transaction, before the COMMIT psql sends last.
          this.database = 'rolled-back';
          throw new RestoreStopped(stopped);
        }
        // psql ran the dump in one transaction: a statement that failed rolled all of it back.
        // Anything else that stopped psql midway leaves the outcome to the server's last word.
        if (error instanceof RestoreError) this.database = error.inDump ? 'rolled-back' : 'in-doubt';
        throw error;
      } finally {
        await watch.finish();
      }
      this.database = 'restored';
      return {};
    });
  }

  /**
   * While psql runs: its own session, looked up on every tick; when it waits for a lock, the
   * progress names who holds it, and past the limit the session is ended (rolling the restore
   * back) and psql cancelled. `finish` stops the ticks and gives the reason when it was stopped.
   */
  private watchLockWaits(name: string, cancel: AbortController, normalText: () => string): { waiting(): boolean; finish(): Promise<string | undefined> } {
    const { lockWaitLimitMs: limitMs, lockCheckIntervalMs: intervalMs } = this.options;
    const head = `Step 4/${TOTAL_STEPS}: restoring ${name}`;
    let waiting = false;
    let stopped: string | undefined;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let tick: Promise<void> = Promise.resolve();

    const check = async (): Promise<void> => {
      const waits = await readLockWaits(this.ctx.db, { applicationName: RESTORE_APPLICATION_NAME }).catch((error: unknown) => {
        this.ctx.log.warn({ err: error }, 'could not look up what the restore waits for');
        return undefined;
      });
      if (waits === undefined) return;
      const wait = waits.find((w) => w.blockers.length > 0);
      if (wait === undefined) {
        // The lock was granted: back to the bytes, which may not move again in a small dump.
        if (waiting) await this.progress(normalText());
        waiting = false;
        return;
      }
      waiting = true;
      const held = describeLockWait(wait);
      if (wait.waitingMs < limitMs) {
        await this.progress(`${head} — ${held}: ${killAdvice(wait.blockers)} (the restore is stopped and rolled back if it still waits at ${formatDuration(limitMs)})`);
        return;
      }
      await this.progress(`${head} — ${held}: stopping the restore…`);
      const ended = await endWaitingSession(this.ctx.db, wait).catch((error: unknown) => {
        this.ctx.log.warn({ err: error, pid: wait.pid }, 'could not end the waiting restore session');
        return 'refused' as const;
      });
      if (ended === 'not-waiting') return; // granted meanwhile: the restore goes on
      cancel.abort();
      const gone = ended === 'ended' && (await this.sessionExits(wait));
      const holders = wait.blockers.map((b) => (b.pid === 0 ? 'the prepared transaction' : `pid ${b.pid}`));
      stopped =
        `stopped after ${held}; ` +
        (gone
          ? 'its transaction was rolled back'
          : `its session (pid ${wait.pid}) could not be ended and keeps the locks it took until ${holders.join(' and ')} ends, then rolls back`) +
        ` — ${killAdvice(wait.blockers)}, then run the restore again`;
      finished = true;
    };
    const schedule = (): void => {
      if (finished) return;
      timer = setTimeout(() => {
        tick = check().finally(schedule);
      }, intervalMs);
    };
    schedule();
    return {
      waiting: () => waiting,
      async finish() {
        clearTimeout(timer);
        await tick;
        finished = true;
        clearTimeout(timer);
        return stopped;
      },
    };
  }

  private async sessionExits(session: LockWait): Promise<boolean> {
    const deadline = performance.now() + SESSION_EXIT_WAIT_MS;
    for (;;) {
      if (await sessionGone(this.ctx.db, session).catch(() => false)) return true;
      if (performance.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async countRestoredRows(backup: StoredBackup): Promise<void> {
    const ok = await this.step(5, 'row counts', async () => {
      const counts = await this.readCounts();
      const atBackup = (await readSidecar(backup.path))?.rowCounts;
      let differ = false;
      const details = Object.entries(counts).map(([table, rows]) => {
        const now = rows === null ? 'missing' : formatCount(rows);
        if (atBackup === undefined || !(table in atBackup)) return `   ${table}: ${now}`;
        const then = atBackup[table] ?? null;
        if (then === rows) return `   ${table}: ${now} (as at backup time)`;
        differ = true;
        return `   ${table}: ${now} — ${then === null ? 'missing' : formatCount(then)} at backup time`;
      });
      if (differ) this.countsProblem = 'differ';
      return differ ? { status: 'differs', note: 'not as at backup time', details } : { details };
    });
    if (!ok) this.countsProblem = 'unread';
  }

  private async readCounts(): Promise<RowCounts> {
    const client = await this.ctx.db.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SELECT set_config('statement_timeout', $1, true)`, [COUNT_STATEMENT_TIMEOUT]);
      const counts = await countRows(client, this.ctx.config.verifyTables);
      await client.query('COMMIT');
      return counts;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Step 6 runs whatever happened before it: the application goes back to what it was. */
  private async startApplication(): Promise<void> {
    const kube = this.ctx.kube;
    const { namespace, deployment } = this.plan.app;
    const replicas = this.appReplicas;
    if (!kube) {
      this.record(6, { title: `start the application ${this.appName}`, status: 'skipped', ms: 0, note: 'Kubernetes is not configured' });
      return;
    }
    if (replicas === undefined) return; // never read, so never stopped: "not run"
    if (!this.appStopTried) {
      this.record(6, { title: `scale ${this.appName} back`, status: 'skipped', ms: 0, note: `left at ${replicas} replicas, as it was` });
      return;
    }
    await this.step(6, `scale ${this.appName} 0 → ${replicas}`, async () => {
      try {
        await this.kubeCall(setReplicas(kube, namespace, deployment, replicas), `scale the deployment ${this.appName}`);
        const { done, state } = await this.waitFor(kube, replicas, START_TIMEOUT_MS, (s) => `Step 6/${TOTAL_STEPS}: starting ${this.appName}… ${s.ready}/${replicas} ready`);
        this.appEnd = done ? { kind: 'back', ready: state.ready } : { kind: 'not-ready', ready: state.ready };
        if (!done) throw new Error(`only ${state.ready} of ${replicas} replicas were ready after ${formatDuration(START_TIMEOUT_MS)}`);
        return { note: `${state.ready} ready` };
      } catch (error) {
        if (this.appEnd === undefined) {
          // Read from the deployment itself: the scale subresource is what just failed.
          const now = await this.kubeCall(readDeploymentReplicas(kube, namespace, deployment), `read the deployment ${this.appName}`).then(
            (state) => state.desired,
            () => undefined,
          );
          this.appEnd = { kind: 'failed', reason: this.reason(error), now };
        }
        throw error;
      }
    });
  }

  outcome(): ActionOutcome {
    const took = formatDuration(performance.now() - this.started);
    const lines = Array.from({ length: TOTAL_STEPS }, (_, i) => this.stepLines(i + 1)).flat();
    lines.push('', this.databaseLine(), this.applicationLine(), this.safetyLine());
    const appTrouble = this.appEnd !== undefined && this.appEnd.kind !== 'back';
    if (this.failure) {
      const { step, title, reason } = this.failure;
      return { ok: false, summary: `FAILED at step ${step} (${title}): ${reason} — ${this.shortState()}`, lines };
    }
    if (this.countsProblem === 'differ') {
      return { ok: false, summary: `restored ${this.plan.name}, but the row counts differ from those at backup time — ${this.shortState()}`, lines };
    }
    if (appTrouble) return { ok: false, summary: `restored ${this.plan.name}, but ${this.shortApplication()}`, lines };
    return { ok: true, summary: `restored ${this.plan.name} in ${took}; ${this.shortApplication()}`, lines };
  }

  private stepLines(n: number): string[] {
    const step = this.steps[n - 1];
    if (step === undefined) return [`${n}. ${PENDING_TITLES[n - 1] ?? 'step'} — not run`];
    const took = stepDuration(step.ms);
    const head =
      step.status === 'ok'
        ? `${n}. ${step.title} — ok (${took})${step.note ? ` · ${step.note}` : ''}`
        : step.status === 'skipped'
          ? `${n}. ${step.title} — skipped: ${step.note ?? ''}`
          : step.status === 'differs'
            ? `${n}. ${step.title} — DIFFER (${took})${step.note ? `: ${step.note}` : ''}`
            : `${n}. ${step.title} — FAILED after ${took}: ${step.note ?? ''}`;
    return [head, ...(step.details ?? [])];
  }

  private databaseLine(): string {
    const safety = this.safety ? `, or restore the safety backup ${this.safety.name}` : '';
    switch (this.database) {
      case 'unchanged':
        return 'Database: unchanged (nothing was restored)';
      case 'rolled-back':
        return 'Database: unchanged (the restore ran in one transaction and was rolled back)';
      case 'in-doubt':
        return `Database: may be partially restored — psql stopped abnormally; check it${safety}`;
      case 'restored':
        if (this.countsProblem === 'differ') return `Database: restored from ${this.plan.name}, but its row counts are not those at backup time${safety ? ` (check it${safety})` : ''}`;
        if (this.countsProblem === 'unread') return `Database: restored from ${this.plan.name} (its row counts could not be read)`;
        return `Database: restored from ${this.plan.name}`;
    }
  }

  private applicationLine(): string {
    const { namespace, deployment } = this.plan.app;
    const replicas = this.appReplicas;
    if (!this.ctx.kube) return `Application: not touched — Kubernetes is not configured, so ${this.appName} was not stopped`;
    if (replicas === undefined) {
      return this.steps[1]?.status === 'failed' ? `Application: not touched (${this.appName} could not be read)` : 'Application: not touched';
    }
    if (!this.appStopTried) return `Application: left at ${replicas} replicas, as it was`;
    const end = this.appEnd;
    if (end === undefined || end.kind === 'back') return `Application: scaled back to ${replicas} replicas${end ? ` (${end.ready} ready)` : ''}`;
    if (end.kind === 'not-ready') return `Application: scaled back to ${replicas} replicas, but only ${end.ready} were ready after ${formatDuration(START_TIMEOUT_MS)} — check its pods`;
    const fix = this.ctx.config.scalableDeployments.includes(`${namespace}/${deployment}`)
      ? `/recipedb scale ${deployment} ${replicas}`
      : `kubectl -n ${namespace} scale deployment/${deployment} --replicas=${replicas}`;
    if (end.now === undefined) return `Application: MAY STILL BE AT 0 REPLICAS (Kubernetes did not answer: ${end.reason}) — scale it back: ${fix}`;
    if (end.now === replicas) return `Application: at ${replicas} replicas again, though scaling it back reported: ${end.reason}`;
    return `Application: STILL AT ${end.now} REPLICAS — scale it back: ${fix}`;
  }

  private safetyLine(): string {
    if (this.safety) return `Safety backup: ${this.safety.name} (${formatBytes(this.safety.sizeBytes)})`;
    if (this.safetyProblem) return `Safety backup: none — it failed: ${this.safetyProblem}`;
    return 'Safety backup: none (not reached)';
  }

  private shortState(): string {
    const database = {
      unchanged: 'database unchanged',
      'rolled-back': 'database unchanged (rolled back)',
      'in-doubt': 'database may be partially restored',
      restored: 'database restored',
    }[this.database];
    return `${database}; ${this.shortApplication()}`;
  }

  private shortApplication(): string {
    const replicas = this.appReplicas;
    if (!this.ctx.kube) return 'the application was not stopped (Kubernetes is not configured)';
    if (replicas === undefined) return 'the application was not touched';
    if (!this.appStopTried) return `the application was left at ${replicas} replicas`;
    const end = this.appEnd;
    if (end === undefined || end.kind === 'back') return `the application is back at ${replicas} replicas`;
    if (end.kind === 'not-ready') return `the application is scaled back to ${replicas} but only ${end.ready} are ready`;
    if (end.now === undefined) return 'the application MAY STILL BE AT 0 REPLICAS';
    return end.now === replicas ? `the application is back at ${replicas} replicas` : `the application is STILL AT ${end.now} REPLICAS`;
  }

  /** Runs one numbered step: progress at its start, its duration, and its failure kept as the reason. */
  private async step(n: number, title: string, work: () => Promise<StepDone>): Promise<boolean> {
    await this.progress(`Step ${n}/${TOTAL_STEPS}: ${title}…`);
    const started = performance.now();
    try {
      const done = await work();
      this.record(n, { title: done.title ?? title, status: done.status ?? 'ok', ms: performance.now() - started, note: done.note, details: done.details });
      return true;
    } catch (error) {
      const reason = this.reason(error);
      this.ctx.log.warn({ err: error, step: n, backup: this.plan.name }, 'restore step failed');
      this.record(n, { title, status: 'failed', ms: performance.now() - started, note: reason });
      this.failure ??= { step: n, title, reason };
      return false;
    }
  }

  private record(n: number, report: StepReport): void {
    this.steps[n - 1] = report;
  }

  private async progress(text: string): Promise<void> {
    // A message edit that fails must not fail the restore.
    await this.ctx.progress(text).catch((error: unknown) => this.ctx.log.warn({ err: error }, 'could not show restore progress'));
  }

  private reason(error: unknown): string {
    return this.scrub(error instanceof RestoreStopped ? error.message : describeFailure(error)).slice(0, MAX_REASON);
  }

  private async kubeCall<T>(call: Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(call, KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
    } catch (error) {
      throw kubeFailure(error, { what });
    }
  }

  private async waitFor(
    kube: Kube,
    replicas: number,
    timeoutMs: number,
    describe: (state: DeploymentReplicas) => string,
  ): Promise<{ done: boolean; state: DeploymentReplicas }> {
    const { namespace, deployment } = this.plan.app;
    const waiting = waitForReplicas(kube, namespace, deployment, replicas, { timeoutMs, onProgress: (s) => this.progress(describe(s)) });
    try {
      // Each poll has no deadline of its own: bound the whole wait.
      return await withTimeout(waiting, timeoutMs + KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
    } catch (error) {
      throw kubeFailure(error, { what: `follow the deployment ${this.appName}` });
    }
  }
}

/** "waiting 45s for a lock on recipe_manager.recipes held by pid 4242 (user app, application cron-report, idle in transaction for 12m)" */
function describeLockWait(wait: LockWait): string {
  const table = wait.wantedLock?.relation;
  const item = table ? ` on ${table}` : '';
  return `waiting ${formatDuration(wait.waitingMs)} for a lock${item} held by ${describeHolders(wait.blockers)}`;
}

function describeHolders(holders: Blocker[]): string {
  const shown = holders.slice(0, MAX_HOLDERS_SHOWN).map(describeHolder);
  const more = holders.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(' and ');
}

function describeHolder(holder: Blocker): string {
  if (holder.pid === 0) return 'a prepared transaction (see pg_prepared_xacts)';
  if (holder.state === null) return `pid ${holder.pid}`;
  const since = holder.stateMs === null ? '' : ` for ${formatDuration(holder.stateMs)}`;
  return `pid ${holder.pid} (user ${holder.user ?? '?'}, application ${holder.application || 'none'}, ${holder.state}${since})`;
}

/** The bot's own sessions end by themselves and `kill` refuses them; a prepared transaction has no session. */
function killAdvice(holders: Blocker[]): string {
  const killable = holders.filter((h) => h.pid !== 0 && !(h.application ?? '').startsWith(BOT_APPLICATION_NAME)).slice(0, MAX_HOLDERS_SHOWN);
  if (killable.length === 0) return holders.some((h) => h.pid === 0) ? 'end it with ROLLBACK PREPARED' : 'it should end by itself';
  const commands = killable.map((h) => `\`/recipedb kill ${h.pid}\``);
  return `end ${killable.length === 1 ? 'it' : 'them'} with ${commands.join(', ')}`;
}

const PENDING_TITLES = ['integrity check', 'stop the application', 'safety backup', 'restore', 'row counts', 'start the application'];

/** Tenths of a second for short steps ("0.4s"), as operators compare them. */
function stepDuration(ms: number): string {
  if (ms < 100) return `${Math.round(ms)}ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}
