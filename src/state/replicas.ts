/**
 * The bot's replicas, each beating in the state database. Claims name their replica; a claim whose
 * replica stopped beating (it died: SIGKILL, out of memory, a lost node) or left with work still
 * claimed is an orphan that another replica may take over. A claimer the table does not know is
 * taken to be alive: it is a replica of a version from before the table, still running during an
 * upgrade, and taking its work over would run it twice.
 *
 *   const heartbeat = await startHeartbeat(pool, { instance, everyMs: 15_000, log }); // src/services.ts
 *   … await heartbeat.stop(); // marks it left: whatever it still claims is free at once
 *
 * Queries elsewhere test for an orphan with `replicaGone('claimed_by', '$2')`.
 */
import os from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';

/** Rows of replicas gone this long are forgotten; their claims were taken over long before. */
const FORGET_AFTER = '7 days';

/** SQL: true when the replica named by `column` left, or has not beaten within `timeoutSecondsParam` seconds. */
export function replicaGone(column: string, timeoutSecondsParam: string): string {
  return `EXISTS (SELECT 1 FROM replicas r WHERE r.instance = ${column}
                     AND (r.left_at IS NOT NULL OR r.seen_at <= now() - make_interval(secs => ${timeoutSecondsParam}::float8)))`;
}

export async function beat(pool: pg.Pool, instance: string): Promise<void> {
  await pool.query(
    `INSERT INTO replicas (instance, host, pid) VALUES ($1, $2, $3)
     ON CONFLICT (instance) DO UPDATE SET seen_at = now(), left_at = NULL`,
    [instance, os.hostname(), process.pid],
  );
}

export async function leave(pool: pg.Pool, instance: string): Promise<void> {
  await pool.query('UPDATE replicas SET left_at = now() WHERE instance = $1', [instance]);
}

async function forgetLongGone(pool: pg.Pool): Promise<void> {
  await pool.query(`DELETE FROM replicas WHERE coalesce(left_at, seen_at) < now() - interval '${FORGET_AFTER}'`);
}

export interface Heartbeat {
  stop(): Promise<void>;
}

/** Beats now and then every `everyMs`; a missed beat is logged, never fatal. */
export async function startHeartbeat(pool: pg.Pool, options: { instance: string; everyMs: number; log: Logger }): Promise<Heartbeat> {
  const { instance, everyMs, log } = options;
  await beat(pool, instance);
  await forgetLongGone(pool);
  const timer = setInterval(() => {
    beat(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not record the heartbeat in the state database'));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await leave(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not record in the state database that this replica left'));
    },
  };
}
