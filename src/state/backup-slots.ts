/**
 * Slots of BACKUP_SCHEDULE in the state database. Claiming is one `INSERT … ON CONFLICT DO
 * NOTHING`: whichever replica's insert wins runs the slot, every other replica (and every later
 * restart) sees it taken, so a slot runs at most once.
 *
 *   const won = await claimBackupSlot(pool, { slot, claimedBy: 'bot-7f9c:1234:ab12' }); // false when taken
 *   await finishBackupSlot(pool, slot, 'ok', { name: 'recipe-database-backup-….sql.gz' });
 *
 * A replica that dies with a slot claimed would leave it unfinished for ever: once its heartbeat
 * is older than the replica timeout, another replica takes the slot over (takeOverBackupSlot).
 */
import type pg from 'pg';
import { replicaGone } from './replicas.js';

export type SlotOutcome = 'ok' | 'failed' | 'skipped';

export interface BackupSlot {
  slot: Date;
  claimedBy: string;
  claimedAt: Date;
  finishedAt: Date | null;
  outcome: SlotOutcome | null;
  detail: Record<string, unknown> | null;
}

interface Row {
  slot: Date;
  claimed_by: string;
  claimed_at: Date;
  finished_at: Date | null;
  outcome: SlotOutcome | null;
  detail: Record<string, unknown> | null;
}

const fromRow = (r: Row): BackupSlot => ({
  slot: r.slot,
  claimedBy: r.claimed_by,
  claimedAt: r.claimed_at,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  detail: r.detail,
});

/** True when this caller won the slot. A slot claimed as `skipped` is finished at once. */
export async function claimBackupSlot(
  pool: pg.Pool,
  claim: { slot: Date; claimedBy: string; skipped?: Record<string, unknown> },
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO backup_slots (slot, claimed_by, finished_at, outcome, detail)
     VALUES ($1, $2, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE 'skipped' END, $3::jsonb)
     ON CONFLICT (slot) DO NOTHING`,
    [claim.slot, claim.claimedBy, claim.skipped === undefined ? null : JSON.stringify(claim.skipped)],
  );
  return rowCount === 1;
}

export async function finishBackupSlot(pool: pg.Pool, slot: Date, outcome: SlotOutcome, detail: Record<string, unknown>): Promise<void> {
  await pool.query(
    `UPDATE backup_slots SET finished_at = now(), outcome = $2, detail = $3::jsonb WHERE slot = $1`,
    [slot, outcome, JSON.stringify(detail)],
  );
}

/** Gives an unfinished claim back, so that a later tick (of any replica) may run the slot after all. */
export async function releaseBackupSlot(pool: pg.Pool, slot: Date, claimedBy: string): Promise<void> {
  await pool.query(`DELETE FROM backup_slots WHERE slot = $1 AND claimed_by = $2 AND finished_at IS NULL`, [slot, claimedBy]);
}

export async function findBackupSlot(pool: pg.Pool, slot: Date): Promise<BackupSlot | null> {
  const { rows } = await pool.query<Row>(`SELECT * FROM backup_slots WHERE slot = $1`, [slot]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export type TakeOver = { kind: 'taken'; from: string } | { kind: 'finished' } | { kind: 'running'; by: string } | { kind: 'free' };

/**
 * Takes over an unfinished slot whose replica stopped beating. Of several replicas trying at once,
 * the row lock lets one win; the others then see a live claimer.
 */
export async function takeOverBackupSlot(pool: pg.Pool, claim: { slot: Date; claimedBy: string; replicaTimeoutMs: number }): Promise<TakeOver> {
  const taken = await pool.query<{ previous: string }>(
    `WITH old AS (SELECT slot, claimed_by FROM backup_slots WHERE slot = $1 AND finished_at IS NULL FOR UPDATE)
     UPDATE backup_slots s SET claimed_by = $2, claimed_at = now()
       FROM old
      WHERE s.slot = old.slot AND old.claimed_by <> $2 AND ${replicaGone('old.claimed_by', '$3')}
     RETURNING old.claimed_by AS previous`,
    [claim.slot, claim.claimedBy, claim.replicaTimeoutMs / 1000],
  );
  const previous = taken.rows[0]?.previous;
  if (previous !== undefined) return { kind: 'taken', from: previous };
  const found = await findBackupSlot(pool, claim.slot);
  if (!found) return { kind: 'free' };
  return found.finishedAt ? { kind: 'finished' } : { kind: 'running', by: found.claimedBy };
}
