/**
 * Slots of PITR_BACKUP_SCHEDULE in the state database (migration 10): the rules of
 * backup-slots.ts for pgBackRest's base backups. Claiming is one `INSERT … ON CONFLICT DO
 * NOTHING`, so a slot runs at most once across replicas and restarts; a slot whose replica died
 * unfinished is taken over once that replica's heartbeat is older than the replica timeout.
 *
 *   if (await claimPitrBackupSlot(pool, { slot, claimedBy })) { …; await finishPitrBackupSlot(pool, slot, 'ok', { label }); }
 */
import type pg from 'pg';
import type { SlotOutcome, TakeOver } from './backup-slots.js';
import { replicaGone } from './replicas.js';

export async function claimPitrBackupSlot(pool: pg.Pool, claim: { slot: Date; claimedBy: string; skipped?: Record<string, unknown> }): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO pitr_backup_slots (slot, claimed_by, finished_at, outcome, detail)
     VALUES ($1, $2, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE 'skipped' END, $3::jsonb)
     ON CONFLICT (slot) DO NOTHING`,
    [claim.slot, claim.claimedBy, claim.skipped === undefined ? null : JSON.stringify(claim.skipped)],
  );
  return rowCount === 1;
}

export async function finishPitrBackupSlot(pool: pg.Pool, slot: Date, outcome: SlotOutcome, detail: Record<string, unknown>): Promise<void> {
  await pool.query(`UPDATE pitr_backup_slots SET finished_at = now(), outcome = $2, detail = $3::jsonb WHERE slot = $1`, [slot, outcome, JSON.stringify(detail)]);
}

/** Gives an unfinished claim back, so that a later tick (of any replica) runs the slot after all. */
export async function releasePitrBackupSlot(pool: pg.Pool, slot: Date, claimedBy: string): Promise<void> {
  await pool.query(`DELETE FROM pitr_backup_slots WHERE slot = $1 AND claimed_by = $2 AND finished_at IS NULL`, [slot, claimedBy]);
}

export async function takeOverPitrBackupSlot(pool: pg.Pool, claim: { slot: Date; claimedBy: string; replicaTimeoutMs: number }): Promise<TakeOver> {
  const taken = await pool.query<{ previous: string }>(
    `WITH old AS (SELECT slot, claimed_by FROM pitr_backup_slots WHERE slot = $1 AND finished_at IS NULL FOR UPDATE)
     UPDATE pitr_backup_slots s SET claimed_by = $2, claimed_at = now()
       FROM old
      WHERE s.slot = old.slot AND old.claimed_by <> $2 AND ${replicaGone('old.claimed_by', '$3')}
     RETURNING old.claimed_by AS previous`,
    [claim.slot, claim.claimedBy, claim.replicaTimeoutMs / 1000],
  );
  const previous = taken.rows[0]?.previous;
  if (previous !== undefined) return { kind: 'taken', from: previous };
  const { rows } = await pool.query<{ finished_at: Date | null; claimed_by: string }>(`SELECT finished_at, claimed_by FROM pitr_backup_slots WHERE slot = $1`, [claim.slot]);
  const found = rows[0];
  if (!found) return { kind: 'free' };
  return found.finished_at ? { kind: 'finished' } : { kind: 'running', by: found.claimed_by };
}
