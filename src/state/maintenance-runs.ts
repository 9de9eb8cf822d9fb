/**
 * The maintenance operations running now, in the state database: what runs, who asked, and which
 * session on the operated database runs its current statement. A Cancel click on any replica finds
 * the run here, marks it, and cancels that session; the replica running it sees the mark and starts
 * no further statement.
 *
 *   const run = await insertMaintenanceRun(state, { operation: 'vacuum full', summary, requester: 'U1', channel: 'C1', instance });
 *   await setRunSession(state, run.id, { pid: 4242, startedAt: '2026-12-02T10:00:00.123456Z' }); // → null, or who asked to cancel
 *   await requestRunCancel(state, run.id, 'U_BOB'); // → the session to cancel, or null when the run is over
 *   await finishMaintenanceRun(state, run.id);
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { replicaGone } from './replicas.js';

export interface MaintenanceRun {
  id: string;
  operation: string;
  summary: string;
  requester: string;
  channel: string;
  /** The approval request, for gated operations. */
  requestId: string | null;
  instance: string;
  /** The session on the operated database now running a statement; null between statements. */
  session: RunSession | null;
  startedAt: Date;
  cancelRequestedBy: string | null;
  finishedAt: Date | null;
}

/** A backend exactly: its pid and its start time (a later session may reuse the pid). */
export interface RunSession {
  pid: number;
  startedAt: string;
}

interface Row {
  id: string;
  operation: string;
  summary: string;
  requester: string;
  channel: string;
  request_id: string | null;
  instance: string;
  session_pid: number | null;
  session_started: string | null;
  started_at: Date;
  cancel_requested_by: string | null;
  finished_at: Date | null;
}

const fromRow = (r: Row): MaintenanceRun => ({
  id: r.id,
  operation: r.operation,
  summary: r.summary,
  requester: r.requester,
  channel: r.channel,
  requestId: r.request_id,
  instance: r.instance,
  session: r.session_pid !== null && r.session_started !== null ? { pid: r.session_pid, startedAt: r.session_started } : null,
  startedAt: r.started_at,
  cancelRequestedBy: r.cancel_requested_by,
  finishedAt: r.finished_at,
});

export async function insertMaintenanceRun(
  state: pg.Pool,
  run: { operation: string; summary: string; requester: string; channel: string; requestId?: string; instance: string },
): Promise<MaintenanceRun> {
  const { rows } = await state.query<Row>(
    `INSERT INTO maintenance_runs (id, operation, summary, requester, channel, request_id, instance)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [`m-${randomBytes(6).toString('hex')}`, run.operation, run.summary, run.requester, run.channel, run.requestId ?? null, run.instance],
  );
  return fromRow(rows[0] as Row);
}

export async function findMaintenanceRun(state: pg.Pool, id: string): Promise<MaintenanceRun | null> {
  const { rows } = await state.query<Row>('SELECT * FROM maintenance_runs WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * Records the session that runs the next statement (null: none now). Returns who asked to cancel
 * the run, if anyone did meanwhile: then the statement must not start.
 */
export async function setRunSession(state: pg.Pool, id: string, session: RunSession | null): Promise<string | null> {
  const { rows } = await state.query<{ cancel_requested_by: string | null }>(
    `UPDATE maintenance_runs SET session_pid = $2, session_started = $3 WHERE id = $1 RETURNING cancel_requested_by`,
    [id, session?.pid ?? null, session?.startedAt ?? null],
  );
  return rows[0]?.cancel_requested_by ?? null;
}

/** Who asked to cancel the run; null while nobody has. */
export async function runCancelRequestedBy(state: pg.Pool, id: string): Promise<string | null> {
  const { rows } = await state.query<{ cancel_requested_by: string | null }>('SELECT cancel_requested_by FROM maintenance_runs WHERE id = $1', [id]);
  return rows[0]?.cancel_requested_by ?? null;
}

/**
 * Marks the run cancelled by `userId` (the first request counts) and returns it with the session
 * to cancel; null when the run has finished (or never existed).
 */
export async function requestRunCancel(state: pg.Pool, id: string, userId: string): Promise<MaintenanceRun | null> {
  const { rows } = await state.query<Row>(
    `UPDATE maintenance_runs
        SET cancel_requested_by = coalesce(cancel_requested_by, $2),
            cancel_requested_at = coalesce(cancel_requested_at, now())
      WHERE id = $1 AND finished_at IS NULL
      RETURNING *`,
    [id, userId],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * The newest run not finished. Ask only while the operation lock says maintenance runs: a replica
 * that died mid-run leaves its row unfinished, but not the lock.
 */
export async function latestUnfinishedMaintenanceRun(state: pg.Pool): Promise<MaintenanceRun | null> {
  const { rows } = await state.query<Row>('SELECT * FROM maintenance_runs WHERE finished_at IS NULL ORDER BY started_at DESC LIMIT 1');
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function finishMaintenanceRun(state: pg.Pool, id: string): Promise<void> {
  await state.query('UPDATE maintenance_runs SET finished_at = now(), session_pid = NULL, session_started = NULL WHERE id = $1', [id]);
}

/**
 * Finishes the runs whose replica is gone (state/replicas.ts) and returns them: each once, to the
 * one replica whose update took it.
 */
export async function finishRunsOfGoneReplicas(state: pg.Pool, replicaTimeoutMs: number): Promise<MaintenanceRun[]> {
  const { rows } = await state.query<Row>(
    `UPDATE maintenance_runs SET finished_at = now(), session_pid = NULL, session_started = NULL
      WHERE finished_at IS NULL AND ${replicaGone('maintenance_runs.instance', '$1')}
      RETURNING *`,
    [replicaTimeoutMs / 1000],
  );
  return rows.map(fromRow);
}
