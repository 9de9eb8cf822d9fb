/**
 * Who blocks whom in this database (lock-wait.ts), and how many locks of each mode are held or
 * awaited; the bot's own sessions (bot-sessions.ts) and their locks are left out.
 *
 *   const report = await readLockReport(pool);
 *   report.blocked[0]?.blockers[0]?.pid; // the session to look at first
 */
import type pg from 'pg';
import { readLockWaits, type LockWait } from './lock-wait.js';
import { botSessionPids } from './bot-sessions.js';

export interface LocksByMode {
  mode: string;
  granted: number;
  waiting: number;
}

export interface LockReport {
  /** Only the waits with a blocker to name (see LockWait.blockers). */
  blocked: LockWait[];
  byMode: LocksByMode[];
}

export async function readLockReport(pool: pg.Pool): Promise<LockReport> {
  const bot = botSessionPids(pool);
  const [waits, byMode] = await Promise.all([
    readLockWaits(pool),
    pool.query<LocksByMode>(
      `SELECT mode, count(*) FILTER (WHERE granted)::int AS granted, count(*) FILTER (WHERE NOT granted)::int AS waiting
         FROM pg_locks
        WHERE pid <> pg_backend_pid() AND pid <> ALL($1::int[])
          AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
        GROUP BY mode
        ORDER BY count(*) DESC, mode`,
      [bot],
    ),
  ]);
  return { blocked: waits.filter((wait) => wait.blockers.length > 0 && !bot.includes(wait.pid)), byMode: byMode.rows };
}
