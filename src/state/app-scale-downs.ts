/**
 * "The application had N replicas", written in the state database before a procedure scales it to
 * 0, and removed once it is scaled back. When the replica running the procedure dies (or is
 * stopped before it could scale back), a surviving replica — or the next one to start — finds the
 * row, scales the application back and says so (src/jobs/app-scale-recovery.ts).
 *
 *   await rememberScaleDown(state, { namespace, deployment, replicas: 3, operation: 'restore', instance, requestId, approvedBy });
 *   await forgetScaleDown(state, { namespace, deployment });
 *   const stranded = await claimStrandedScaleDowns(state, { instance, replicaTimeoutMs, retryMs, kind: 'application' });
 *
 * A point-in-time restore writes such a row for the database deployment too (kind `database`), and
 * keeps it until the database has promoted: that one is never scaled back by another replica, only
 * announced, and holds the application rows back (see jobs/app-scale-recovery.ts).
 */
import type pg from 'pg';
import { replicaGone } from './replicas.js';

/** `database`: the database deployment a point-in-time restore stopped; `application`: what uses it. */
export type ScaleDownKind = 'application' | 'database';

export interface ScaleDown {
  kind: ScaleDownKind;
  namespace: string;
  deployment: string;
  replicas: number;
  operation: string;
  requestId: string | null;
  approvedBy: string | null;
  /** The replica that scaled it down. */
  instance: string;
  scaledAt: Date;
  /** When OPS_CHANNEL was told that a database row's deployment was left at 0. */
  announcedAt: Date | null;
}

interface Row {
  kind: ScaleDownKind;
  namespace: string;
  deployment: string;
  replicas: number;
  operation: string;
  request_id: string | null;
  approved_by: string | null;
  instance: string;
  scaled_at: Date;
  announced_at: Date | null;
}

function fromRow(row: Row): ScaleDown {
  return {
    kind: row.kind,
    namespace: row.namespace,
    deployment: row.deployment,
    replicas: row.replicas,
    operation: row.operation,
    requestId: row.request_id,
    approvedBy: row.approved_by,
    instance: row.instance,
    scaledAt: row.scaled_at,
    announcedAt: row.announced_at,
  };
}

/** Notes the replicas before the scale to 0 (taking over a row an earlier, dead procedure left). */
export async function rememberScaleDown(
  pool: pg.Pool,
  entry: { namespace: string; deployment: string; replicas: number; operation: string; instance: string; requestId?: string; approvedBy?: string; kind?: ScaleDownKind },
): Promise<void> {
  await pool.query(
    `INSERT INTO app_scale_downs (namespace, deployment, replicas, operation, instance, request_id, approved_by, kind)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (namespace, deployment) DO UPDATE SET
       replicas = EXCLUDED.replicas, operation = EXCLUDED.operation, instance = EXCLUDED.instance, request_id = EXCLUDED.request_id,
       approved_by = EXCLUDED.approved_by, kind = EXCLUDED.kind, scaled_at = now(), recovery_by = NULL, recovery_at = NULL, announced_at = NULL`,
    [entry.namespace, entry.deployment, entry.replicas, entry.operation, entry.instance, entry.requestId ?? null, entry.approvedBy ?? null, entry.kind ?? 'application'],
  );
}

/** A row an earlier procedure left (its replica died before scaling back): what the application had before it. */
export async function leftoverScaleDown(pool: pg.Pool, app: { namespace: string; deployment: string }): Promise<ScaleDown | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM app_scale_downs WHERE namespace = $1 AND deployment = $2', [app.namespace, app.deployment]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function forgetScaleDown(pool: pg.Pool, app: { namespace: string; deployment: string }): Promise<void> {
  await pool.query('DELETE FROM app_scale_downs WHERE namespace = $1 AND deployment = $2', [app.namespace, app.deployment]);
}

/**
 * Rows whose replica is gone (stopped beating, or left), claimed by this replica so that only one
 * scales each back; a claim not finished within `retryMs` (Kubernetes did not answer) is free again.
 */
export async function claimStrandedScaleDowns(pool: pg.Pool, options: { instance: string; replicaTimeoutMs: number; retryMs: number; kind: ScaleDownKind }): Promise<ScaleDown[]> {
  const { rows } = await pool.query<Row>(
    `UPDATE app_scale_downs s SET recovery_by = $1, recovery_at = now()
      WHERE ${replicaGone('s.instance', '$2')}
        AND s.kind = $4
        AND (s.recovery_at IS NULL OR s.recovery_at < now() - make_interval(secs => $3::float8))
      RETURNING *`,
    [options.instance, options.replicaTimeoutMs / 1000, options.retryMs / 1000, options.kind],
  );
  return rows.map(fromRow);
}

/**
 * Database rows of dead point-in-time restores (announced or not), left at 0 or still recovering:
 * the application rows wait for them.
 */
export async function interruptedDatabaseRestores(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM app_scale_downs WHERE kind = 'database'`);
  return rows[0]?.n ?? 0;
}

/** The application rows a database row holds back (any left by dead replicas), for the announcement. */
export async function heldBackApplications(pool: pg.Pool): Promise<ScaleDown[]> {
  const { rows } = await pool.query<Row>(`SELECT * FROM app_scale_downs WHERE kind = 'application' ORDER BY namespace, deployment`);
  return rows.map(fromRow);
}

/** A database row stays, announced, until the database has finished the restore; the claim is let go so that the next tick looks again. */
export async function markAnnounced(pool: pg.Pool, down: ScaleDown, instance: string): Promise<void> {
  await pool.query(
    `UPDATE app_scale_downs SET announced_at = coalesce(announced_at, now()), recovery_by = NULL, recovery_at = NULL
      WHERE namespace = $1 AND deployment = $2 AND recovery_by = $3`,
    [down.namespace, down.deployment, instance],
  );
}

/** Removes a recovered row, unless a new procedure took it over meanwhile. */
export async function finishRecovery(pool: pg.Pool, down: ScaleDown, instance: string): Promise<void> {
  await pool.query('DELETE FROM app_scale_downs WHERE namespace = $1 AND deployment = $2 AND recovery_by = $3', [down.namespace, down.deployment, instance]);
}
