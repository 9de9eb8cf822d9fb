/**
 * One maintenance operation as SPEC section 9 wants it run: under the operation lock (one at a
 * time, and never beside a restore or a deployment change), recorded in the state database's
 * maintenance_runs (so a Cancel click on any replica finds it), each statement in the
 * maintenance session (statement_timeout off, lock_timeout = MAINTENANCE_LOCK_TIMEOUT, a few
 * attempts), with its progress read every MAINTENANCE_PROGRESS_INTERVAL and shown with a Cancel
 * button. A failed or cancelled concurrent index build leaves no invalid index behind.
 *
 *   const report = await withMaintenanceRun(ctx, { operation: 'vacuum full', summary, requester, channel, by }, async (run) => {
 *     await run.execute({ title: 'VACUUM FULL recipe_manager.recipes', sql: 'VACUUM FULL "recipe_manager"."recipes"', relation: … });
 *   });
 */
import type pg from 'pg';
import { formatDuration } from '../duration.js';
import { describeFailure, Failure } from '../ops/failure.js';
import { acquireOperationLock, OperationRunningError } from '../ops/operation-lock.js';
import type { Blocker } from '../ops/postgres/lock-wait.js';
import { botSessionPids } from '../ops/postgres/bot-sessions.js';
import { describeProgress, readStatementProgress } from '../ops/postgres/maintenance-progress.js';
import {
  cancelMaintenanceSession,
  LockUnavailableError,
  openMaintenanceSession,
  runWithLockRetries,
  type MaintenanceSession,
} from '../ops/postgres/maintenance-session.js';
import { invalidIndexes } from '../ops/postgres/maintenance-targets.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import { finishMaintenanceRun, insertMaintenanceRun, runCancelRequestedBy, setRunSession } from '../state/maintenance-runs.js';
import type { Services } from '../context.js';
import type { ProgressReporter } from './handler.js';
import { Refusal } from './refusal.js';

/** Attempts of a statement that cannot get its lock: the first and three retries. */
export const MAINTENANCE_ATTEMPTS = 4;
/** Attempts to drop what a failed concurrent build left (its waits block no application query). */
const CLEANUP_ATTEMPTS = 12;
const MAX_HOLDERS_NAMED = 3;

export interface MaintenanceContext extends Services {
  progress: ProgressReporter;
}

export interface RunInfo {
  /** What runs, for maintenance_runs and the operation lock: 'vacuum full'. */
  operation: string;
  summary: string;
  requester: string;
  channel: string;
  requestId?: string;
  /** Who started it (approver, or requester of a command that needs no approval). */
  by: string;
}

export interface MaintenanceStatement {
  /** What the operator reads: `VACUUM FULL recipe_manager.recipes`. */
  title: string;
  sql: string;
  params?: unknown[];
  /** The relation it locks (a regclass text such as `"s"."t"`), whose holders are named when it gives up. */
  relation?: string;
  /** A concurrent index build on this table: indexes it leaves invalid when it fails are dropped. */
  buildsIndexOn?: number;
}

export interface StatementResult<Row> {
  rows: Row[];
  notices: string[];
  attempts: number;
}

/** The reason a run stops early: the text is what the report says ("cancelled by @U_BOB"). */
export class MaintenanceCancelled extends Failure {
  override name = 'MaintenanceCancelled';
  constructor(readonly by: string) {
    super(`cancelled by @${by}`);
  }
}

/** A concurrent build gave up, and its leftover could not be dropped before the next attempt. */
class LeftoverKept extends Error {
  override name = 'LeftoverKept';
  constructor(
    readonly lockError: LockUnavailableError,
    readonly note: string,
  ) {
    super(note);
  }
}

export interface MaintenanceRun {
  readonly id: string;
  /** Aborted when the run must stop: cancelled, the bot shutting down, or the operation lock lost. */
  readonly stop: AbortSignal;
  /** Who cancelled it, once someone did. */
  readonly cancelledBy: string | null;
  /** Progress with the Cancel button. */
  progress(text: string): Promise<void>;
  /**
   * Runs one statement in the maintenance session, retrying on lock timeouts. Throws a Failure whose
   * message is the operator's sentence (who held the lock, cancelled by whom, what was cleaned up).
   */
  execute<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    statement: MaintenanceStatement,
    options?: { progress?: (text: string) => Promise<void> },
  ): Promise<StatementResult<Row>>;
}

export async function withMaintenanceRun<T>(ctx: MaintenanceContext, info: RunInfo, work: (run: MaintenanceRun) => Promise<T>): Promise<T> {
  let lock;
  try {
    lock = await acquireOperationLock(ctx.state, { kind: 'maintenance', by: info.by });
  } catch (error) {
    if (error instanceof OperationRunningError) throw new Refusal(`${capitalize(error.message)}: nothing was done. Run it again once that has finished.`);
    throw error;
  }
  const cancel = new AbortController();
  const stop = AbortSignal.any([cancel.signal, lock.lost, ctx.lifecycle.stopSignal]);
  let session: MaintenanceSession | undefined;
  try {
    const record = await insertMaintenanceRun(ctx.state, { ...info, instance: ctx.instance });
    const run = new Run(ctx, record.id, cancel, stop, async () => {
      if (session?.usable) return session;
      await session?.close();
      session = await openMaintenanceSession({
        url: ctx.databaseUrl,
        lockTimeoutMs: ctx.config.maintenance.lockTimeoutMs,
        connectTimeoutMs: ctx.config.timeouts.connectMs,
        label: record.id,
      });
      return session;
    });
    try {
      return await work(run);
    } finally {
      // Nothing may redraw the message after this: the answer or outcome replaces it.
      await run.quiet();
      await finishMaintenanceRun(ctx.state, record.id).catch((error: unknown) => ctx.log.warn({ err: error, run: record.id }, 'could not mark the maintenance run finished'));
    }
  } finally {
    await session?.close();
    await lock.release();
  }
}

class Run implements MaintenanceRun {
  private cancelled: string | null = null;
  private shownAt = 0;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private showing: Promise<void> = Promise.resolve();
  private silenced = false;

  constructor(
    private readonly ctx: MaintenanceContext,
    readonly id: string,
    private readonly cancelController: AbortController,
    readonly stop: AbortSignal,
    private readonly session: () => Promise<MaintenanceSession>,
  ) {}

  get cancelledBy(): string | null {
    return this.cancelled;
  }

  /**
   * At most one message edit per MAINTENANCE_PROGRESS_INTERVAL (Slack limits chat.update): a newer
   * text waits for its turn and replaces an older one still waiting.
   */
  progress(text: string): Promise<void> {
    if (this.silenced) return Promise.resolve();
    const everyMs = this.ctx.config.maintenance.progressIntervalMs;
    const wait = this.shownAt + everyMs - Date.now();
    if (wait <= 0 && this.timer === undefined) return this.show(text);
    this.pending = text;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined) void this.show(next);
    }, Math.max(0, wait));
    return Promise.resolve();
  }

  private show(text: string): Promise<void> {
    this.shownAt = Date.now();
    // A progress message that cannot be shown must never stop the work it reports on.
    this.showing = this.showing
      .then(() => (this.silenced ? undefined : this.ctx.progress(text, { cancelRun: this.id })))
      .catch((error: unknown) => this.ctx.log.warn({ err: error, run: this.id }, 'could not show progress'));
    return this.showing;
  }

  /** Drops what waits and lets what is being shown finish. */
  async quiet(): Promise<void> {
    this.silenced = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.showing;
  }

  private cancelBy(by: string): void {
    if (this.cancelled !== null) return;
    this.cancelled = by;
    this.cancelController.abort(new MaintenanceCancelled(by));
  }

  async execute<Row extends pg.QueryResultRow>(
    statement: MaintenanceStatement,
    options: { progress?: (text: string) => Promise<void> } = {},
  ): Promise<StatementResult<Row>> {
    const say = options.progress ?? ((text: string) => this.progress(`${statement.title} — ${text}`));
    this.stop.throwIfAborted();
    const session = await this.session();
    const cancelledMeanwhile = await setRunSession(this.ctx.state, this.id, session.identity);
    if (cancelledMeanwhile) this.cancelBy(cancelledMeanwhile);
    this.stop.throwIfAborted();
    const before = statement.buildsIndexOn === undefined ? [] : (await invalidIndexes(this.ctx.db, statement.buildsIndexOn)).map((i) => i.oid);
    const { lockTimeoutMs } = this.ctx.config.maintenance;
    const monitor = this.monitor(session, say);
    try {
      return await runWithLockRetries<Row>(
        session,
        this.ctx.db,
        {
          sql: statement.sql,
          params: statement.params,
          relation: statement.relation,
          attempts: MAINTENANCE_ATTEMPTS,
          pauseMs: lockTimeoutMs,
          signal: this.stop,
          onRetry: async (attempt, holders) => {
            if (statement.buildsIndexOn !== undefined) {
              // The next attempt would meet its own leftover ("already exists"): without a clean slate, stop here.
              const left = await this.dropLeftovers(statement.buildsIndexOn, before, say);
              if (left.kept) throw new LeftoverKept(new LockUnavailableError(attempt - 1, lockTimeoutMs, holders), left.note);
            }
            await say(`could not get its lock within ${formatDuration(lockTimeoutMs)}${holders.length ? ` (${holderList(holders)})` : ''}; trying again, attempt ${attempt} of ${MAINTENANCE_ATTEMPTS}`);
          },
        },
        lockTimeoutMs,
      );
    } catch (error) {
      await monitor.stop();
      // A click on another replica cancels the session before this one's monitor sees the mark.
      if ((error as { code?: string }).code === '57014' && !this.stop.aborted) {
        const by = await runCancelRequestedBy(this.ctx.state, this.id).catch(() => null);
        if (by) this.cancelBy(by);
      }
      if (error instanceof LeftoverKept) throw new Failure(`${this.sentence(error.lockError)}${error.note}`, { cause: error.lockError });
      const left = statement.buildsIndexOn === undefined ? { note: '' } : await this.dropLeftovers(statement.buildsIndexOn, before, say);
      throw new Failure(`${this.sentence(error)}${left.note}`, { cause: error });
    } finally {
      await monitor.stop();
      await setRunSession(this.ctx.state, this.id, null).catch(() => undefined);
    }
  }

  /** Why the statement did not finish, in the operator's words. */
  private sentence(error: unknown): string {
    if (this.stop.aborted) {
      const reason: unknown = this.stop.reason;
      return reason instanceof MaintenanceCancelled ? reason.message : `stopped: ${describeFailure(reason)}`;
    }
    if (error instanceof LockUnavailableError) {
      // The bot's own sessions (by pid) end by themselves, and `kill` refuses them.
      const own = botSessionPids(this.ctx.db);
      const killable = error.holders.find((h) => h.pid !== 0 && !own.includes(h.pid));
      const advice = killable ? ` — end it with \`kill ${killable.pid}\` if it is stuck` : '';
      const held = error.holders.length ? `; held by ${holderList(error.holders)}${advice}` : '';
      return `gave up after ${error.attempts} attempts: it could not get its lock within ${formatDuration(error.lockTimeoutMs)} (MAINTENANCE_LOCK_TIMEOUT) each time${held}`;
    }
    const e = error as { code?: string; message?: string; detail?: string };
    if (e.code === '57014') return 'cancelled from outside the bot (pg_cancel_backend or a statement timeout)';
    if (typeof e.code === 'string' && e.code !== '42501' && e.message) return `${e.message}${e.detail ? ` (${e.detail})` : ''}`;
    return describeFailure(error);
  }

  /**
   * Drops the invalid indexes a failed concurrent build left on the table (those that were not
   * there before it), concurrently, even after a cancel. DROP INDEX CONCURRENTLY waits for the
   * transactions that may still use the index, but its waits block no query of the application
   * (SHARE UPDATE EXCLUSIVE), so it gets more attempts than a statement does. Returns what the
   * report adds and how many could not be dropped.
   */
  private async dropLeftovers(tableOid: number, before: number[], say: (text: string) => Promise<void>): Promise<{ note: string; kept: number }> {
    let left: { oid: number; schema: string; name: string }[];
    try {
      left = (await invalidIndexes(this.ctx.db, tableOid)).filter((i) => !before.includes(i.oid));
    } catch (error) {
      return { note: `; whether it left an invalid index behind could not be read (${describeFailure(error)}): check with \`indexes\``, kept: 1 };
    }
    if (left.length === 0) return { note: '', kept: 0 };
    const { lockTimeoutMs } = this.ctx.config.maintenance;
    // Shutting down: one attempt within the clean-up time, and the report says what is left.
    const attempts = this.ctx.lifecycle.stopSignal.aborted ? 1 : CLEANUP_ATTEMPTS;
    const dropped: string[] = [];
    const kept: string[] = [];
    for (const index of left) {
      const qualified = `${quoteIdent(index.schema)}.${quoteIdent(index.name)}`;
      try {
        const session = await this.session();
        await say(`dropping the invalid index ${index.name} it left behind`);
        // No stop signal: the clean-up runs after a cancel too.
        await runWithLockRetries(
          session,
          this.ctx.db,
          {
            sql: `DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`,
            relation: qualified,
            attempts,
            pauseMs: lockTimeoutMs,
            onRetry: (attempt, holders) =>
              say(`dropping the invalid index ${index.name} it left behind: waiting${holders.length ? ` for ${holderList(holders)}` : ''} (attempt ${attempt} of ${attempts})`),
          },
          lockTimeoutMs,
        );
        dropped.push(index.name);
      } catch (error) {
        this.ctx.log.warn({ err: error, index: qualified }, 'could not drop the invalid index a failed build left');
        kept.push(`${index.schema}.${index.name}`);
      }
    }
    const parts: string[] = [];
    if (dropped.length) parts.push(`the invalid ${plural(dropped.length, 'index', 'indexes')} it left behind (${dropped.join(', ')}) ${dropped.length === 1 ? 'was' : 'were'} dropped`);
    if (kept.length) {
      parts.push(
        `the invalid ${plural(kept.length, 'index', 'indexes')} it left behind (${kept.join(', ')}) could not be dropped yet: once the transaction holding the table has ended, run \`index drop ${kept[0]}\``,
      );
    }
    return { note: `; ${parts.join('; ')}`, kept: kept.length };
  }

  /**
   * While a statement runs: its progress every interval, and whether anyone asked to cancel (on
   * another replica the click only reaches the state database). A stop cancels the session at once.
   */
  private monitor(session: MaintenanceSession, say: (text: string) => Promise<void>): { stop(): Promise<void> } {
    const { db, state, config, log } = this.ctx;
    const cancelSession = (): void => {
      cancelMaintenanceSession(db, session.identity).catch((error: unknown) => log.warn({ err: error, run: this.id }, 'could not cancel the maintenance session'));
    };
    this.stop.addEventListener('abort', cancelSession, { once: true });
    let shown = '';
    let stopped = false;
    let wake: () => void = () => undefined;
    const loop = (async () => {
      while (!stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.maintenance.progressIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (stopped) break;
        try {
          const by = await runCancelRequestedBy(state, this.id);
          if (by) this.cancelBy(by);
          // Signalled again each round: a cancel that reached the session between two statements did nothing.
          if (this.stop.aborted) cancelSession();
          const text = describeProgress(await readStatementProgress(db, session.identity.pid));
          if (text && text !== shown && !stopped) {
            shown = text;
            await say(text);
          }
        } catch (error) {
          log.warn({ err: error, run: this.id }, 'could not read the progress of a maintenance statement');
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        this.stop.removeEventListener('abort', cancelSession);
        wake();
        await loop;
      },
    };
  }
}

function holderList(holders: readonly Blocker[]): string {
  const named = holders.slice(0, MAX_HOLDERS_NAMED).map((h) => {
    const what = [h.application || null, h.user ? `user ${h.user}` : null].filter(Boolean).join(', ');
    const state = h.state === null ? '' : `${h.state}${h.stateMs !== null ? ` for ${formatDuration(h.stateMs)}` : ''}`;
    return `pid ${h.pid}${what ? ` (${what})` : ''}${state ? ` ${state}` : ''}`;
  });
  const more = holders.length - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
