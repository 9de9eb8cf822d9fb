/**
 * Watches one session of the bot's (the restore's psql) while it runs: pg_dump's output sets
 * `lock_timeout = 0`, so a forgotten session holding a table the dump drops would keep it waiting
 * forever without a word. While it waits, the progress names who holds the lock and how to end
 * it; past the limit (RESTORE_LOCK_WAIT) the waiting session is ended, which rolls its
 * transaction back, and the caller is told to stop. The byte progress stops moving exactly when
 * the session waits, so this runs on its own timer.
 *
 *   const watch = watchLockWaits({ db, session: () => psqlPid, limitMs, intervalMs, head: 'restoring X', … });
 *   … watch.waiting() // true while the session waits: leave the progress line to the watchdog
 *   const stopped = await watch.finish(); // the sentence when it stopped the session, else undefined
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { formatDuration } from '../duration.js';
import { endWaitingSession, readLockWaits, sessionGone, type Blocker, type LockWait } from '../ops/postgres/lock-wait.js';
import { botSessionPids } from '../ops/postgres/bot-sessions.js';

/** The session is checked this often, or four times per limit when that is shorter. */
export const LOCK_CHECK_INTERVAL_MS = 2_000;
/** How long an ended session may take to exit before the sentence says it still holds its locks. */
const SESSION_EXIT_WAIT_MS = 5_000;
const MAX_HOLDERS_SHOWN = 3;

export interface LockWaitWatchOptions {
  db: pg.Pool;
  /** The watched session's backend pid, once known: by pid, since any session can take any application_name. */
  session: () => number | undefined;
  limitMs: number;
  intervalMs?: number;
  /** Progress lines start with this: "restoring recipe-database-backup-….sql.gz". */
  head: string;
  /** What to show again once the lock is granted. */
  normalText: () => string;
  progress: (text: string) => Promise<void>;
  /** Called once, when the session was ended past the limit: stop feeding it. */
  onStop: () => void;
  log: Logger;
}

export interface LockWaitWatch {
  /** True while the session waits for a lock (its progress line is the watchdog's). */
  waiting(): boolean;
  /** Stops watching; the sentence saying why the session was stopped, when it was. */
  finish(): Promise<string | undefined>;
}

export function watchLockWaits(options: LockWaitWatchOptions): LockWaitWatch {
  const { db, limitMs, head, log } = options;
  const intervalMs = options.intervalMs ?? Math.min(LOCK_CHECK_INTERVAL_MS, limitMs / 4);
  let waiting = false;
  let stopped: string | undefined;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  const check = async (): Promise<void> => {
    const pid = options.session();
    if (pid === undefined) return;
    const waits = await readLockWaits(db, { pid }).catch((error: unknown) => {
      log.warn({ err: error }, 'could not look up what the watched session waits for');
      return undefined;
    });
    if (waits === undefined) return;
    const wait = waits.find((w) => w.blockers.length > 0);
    if (wait === undefined) {
      // The lock was granted: back to the bytes, which may not move again in a small dump.
      if (waiting) await options.progress(options.normalText());
      waiting = false;
      return;
    }
    waiting = true;
    const held = describeLockWait(wait);
    if (wait.waitingMs < limitMs) {
      await options.progress(`${head} — ${held}: ${killAdvice(wait.blockers, botSessionPids(db))} (the restore is stopped and rolled back if it still waits at ${formatDuration(limitMs)})`);
      return;
    }
    await options.progress(`${head} — ${held}: stopping the restore…`);
    const ended = await endWaitingSession(db, wait).catch((error: unknown) => {
      log.warn({ err: error, pid: wait.pid }, 'could not end the waiting session');
      return 'refused' as const;
    });
    if (ended === 'not-waiting') return; // granted meanwhile: it goes on
    options.onStop();
    const gone = ended === 'ended' && (await sessionExits(db, wait));
    const holders = wait.blockers.map((b) => (b.pid === 0 ? 'the prepared transaction' : `pid ${b.pid}`));
    stopped =
      `stopped after ${held}; ` +
      (gone
        ? 'its transaction was rolled back'
        : `its session (pid ${wait.pid}) could not be ended and keeps the locks it took until ${holders.join(' and ')} ends, then rolls back`) +
      ` — ${killAdvice(wait.blockers, botSessionPids(db))}, then run the restore again`;
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

async function sessionExits(db: pg.Pool, session: LockWait): Promise<boolean> {
  const deadline = performance.now() + SESSION_EXIT_WAIT_MS;
  for (;;) {
    if (await sessionGone(db, session).catch(() => false)) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** "waiting 45s for a lock on recipe_manager.recipes held by pid 4242 (user app, application cron-report, idle in transaction for 12m)" */
export function describeLockWait(wait: LockWait): string {
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

/**
 * The bot's own sessions (`own`: by pid, not by a name anyone can take) end by themselves and
 * `kill` refuses them; a prepared transaction has no session.
 */
export function killAdvice(holders: Blocker[], own: readonly number[]): string {
  const killable = holders.filter((h) => h.pid !== 0 && !own.includes(h.pid)).slice(0, MAX_HOLDERS_SHOWN);
  if (killable.length === 0) return holders.some((h) => h.pid === 0) ? 'end it with ROLLBACK PREPARED' : 'it should end by itself';
  const commands = killable.map((h) => `\`/recipedb kill ${h.pid}\``);
  return `end ${killable.length === 1 ? 'it' : 'them'} with ${commands.join(', ')}`;
}
