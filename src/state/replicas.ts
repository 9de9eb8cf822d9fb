/**
 * The bot's replicas, each beating in the state database. Claims name their replica; a claim whose
 * replica has not beaten within the timeout (or left) is an orphan that another replica may take
 * over: the process died mid-work (SIGKILL, out of memory, a lost node).
 *
 *   const heartbeat = await startHeartbeat(pool, { instance, everyMs: 15_000, log }); // src/services.ts
 *   … await heartbeat.stop(); // also removes the row: whatever is still claimed is free at once
 *
 * Queries elsewhere test liveness with `replicaAlive('claimed_by', '$2')`.
 */
import os from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';

/** SQL: true when the replica named by `column` has beaten within `timeoutSecondsParam` seconds. */
export function replicaAlive(column: string, timeoutSecondsParam: string): string {
  return `EXISTS (SELECT 1 FROM replicas r WHERE r.instance = ${column} AND r.seen_at > now() - make_interval(secs => ${timeoutSecondsParam}::float8))`;
}

export async function beat(pool: pg.Pool, instance: string): Promise<void> {
  await pool.query(
    `INSERT INTO replicas (instance, host, pid) VALUES ($1, $2, $3)
     ON CONFLICT (instance) DO UPDATE SET seen_at = now()`,
    [instance, os.hostname(), process.pid],
  );
}

export async function removeReplica(pool: pg.Pool, instance: string): Promise<void> {
  await pool.query('DELETE FROM replicas WHERE instance = $1', [instance]);
}

export interface Heartbeat {
  stop(): Promise<void>;
}

/** Beats now and then every `everyMs`; a missed beat is logged, never fatal. */
export async function startHeartbeat(pool: pg.Pool, options: { instance: string; everyMs: number; log: Logger }): Promise<Heartbeat> {
  const { instance, everyMs, log } = options;
  await beat(pool, instance);
  const timer = setInterval(() => {
    beat(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not record the heartbeat in the state database'));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await removeReplica(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not remove this replica from the state database'));
    },
  };
}
