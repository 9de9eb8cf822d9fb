/**
 * The bot's replicas, each beating in the state database. Claims name their replica; a claim whose
 * replica stopped beating (it died: SIGKILL, out of memory, a lost node) or left with work still
 * claimed is an orphan that another replica may take over. A claimer the table does not know is
 * taken to be alive: it is a replica of a version from before the table, still running during an
 * upgrade, and taking its work over would run it twice.
 *
 *   await beat(pool, instance);  // src/jobs/heartbeat.ts, every REPLICA_TIMEOUT/4
 *   await leave(pool, instance); // on a clean stop: whatever it still claims is free at once
 *
 * Queries elsewhere test for an orphan with `replicaGone('claimed_by', '$2')`.
 */
import os from 'node:os';
import type pg from 'pg';

/** Rows of replicas gone this long are forgotten; their claims were taken over long before. */
const FORGET_AFTER = '7 days';

/** SQL: true when the replica named by `column` (qualified: `replicas` has an `instance` of its own) left, or has not beaten within `timeoutSecondsParam` seconds. */
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

export async function forgetLongGone(pool: pg.Pool): Promise<void> {
  await pool.query(`DELETE FROM replicas WHERE coalesce(left_at, seen_at) < now() - interval '${FORGET_AFTER}'`);
}
