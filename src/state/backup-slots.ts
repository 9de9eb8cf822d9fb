/**
 * Slots of the backup schedules in the state database: BACKUP_SCHEDULE's dumps in `backup_slots`
 * (migration 2), PITR_BACKUP_SCHEDULE's base backups in `pitr_backup_slots` (migration 10), two
 * tables of one shape read and written by the same code. Claiming is one `INSERT … ON CONFLICT DO
 * NOTHING`: whichever replica's insert wins runs the slot, every other replica (and every later
 * restart) sees it taken, so a slot runs at most once.
 *
 *   const won = await backupSlots.claim(pool, { slot, claimedBy: 'bot-7f9c:1234:ab12' }); // false when taken
 *   await backupSlots.finish(pool, slot, 'ok', { name: 'recipe-database-backup-….sql.gz' });
 *   await pitrBackupSlots.claim(pool, { slot, claimedBy });
 *
 * A replica that dies with a slot claimed would leave it unfinished for ever: once its heartbeat
 * is older than the replica timeout, another replica takes the slot over (takeOver).
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

export type TakeOver = { kind: 'taken'; from: string } | { kind: 'finished' } | { kind: 'running'; by: string } | { kind: 'free' };

export interface SlotClaim {
  slot: Date;
  claimedBy: string;
  /** Claims the slot as skipped (finished at once), with this detail. */
  skipped?: Record<string, unknown>;
}

export interface SlotTable {
  table: SlotTableName;
  /** True when this caller won the slot. A slot claimed as `skipped` is finished at once. */
  claim(pool: pg.Pool, claim: SlotClaim): Promise<boolean>;
  finish(pool: pg.Pool, slot: Date, outcome: SlotOutcome, detail: Record<string, unknown>): Promise<void>;
  /** Gives an unfinished claim back, so that a later tick (of any replica) may run the slot after all. */
  release(pool: pg.Pool, slot: Date, claimedBy: string): Promise<void>;
  find(pool: pg.Pool, slot: Date): Promise<BackupSlot | null>;
  /**
   * Takes over an unfinished slot whose replica stopped beating. Of several replicas trying at once,
   * the row lock lets one win; the others then see a live claimer.
   */
  takeOver(pool: pg.Pool, claim: { slot: Date; claimedBy: string; replicaTimeoutMs: number }): Promise<TakeOver>;
}

/** The tables of this shape; the name goes into the SQL text, so only these can. */
export type SlotTableName = 'backup_slots' | 'pitr_backup_slots';

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

export function slotTable(table: SlotTableName): SlotTable {
  const find = async (pool: pg.Pool, slot: Date): Promise<BackupSlot | null> => {
    const { rows } = await pool.query<Row>(`SELECT * FROM ${table} WHERE slot = $1`, [slot]);
    return rows[0] ? fromRow(rows[0]) : null;
  };
  return {
    table,
    async claim(pool, claim) {
      const { rowCount } = await pool.query(
        `INSERT INTO ${table} (slot, claimed_by, finished_at, outcome, detail)
         VALUES ($1, $2, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE 'skipped' END, $3::jsonb)
         ON CONFLICT (slot) DO NOTHING`,
        [claim.slot, claim.claimedBy, claim.skipped === undefined ? null : JSON.stringify(claim.skipped)],
      );
      return rowCount === 1;
    },
    async finish(pool, slot, outcome, detail) {
      await pool.query(`UPDATE ${table} SET finished_at = now(), outcome = $2, detail = $3::jsonb WHERE slot = $1`, [slot, outcome, JSON.stringify(detail)]);
    },
    async release(pool, slot, claimedBy) {
      await pool.query(`DELETE FROM ${table} WHERE slot = $1 AND claimed_by = $2 AND finished_at IS NULL`, [slot, claimedBy]);
    },
    find,
    async takeOver(pool, claim) {
      const taken = await pool.query<{ previous: string }>(
        `WITH old AS (SELECT slot, claimed_by FROM ${table} WHERE slot = $1 AND finished_at IS NULL FOR UPDATE)
         UPDATE ${table} s SET claimed_by = $2, claimed_at = now()
           FROM old
          WHERE s.slot = old.slot AND old.claimed_by <> $2 AND ${replicaGone('old.claimed_by', '$3')}
         RETURNING old.claimed_by AS previous`,
        [claim.slot, claim.claimedBy, claim.replicaTimeoutMs / 1000],
      );
      const previous = taken.rows[0]?.previous;
      if (previous !== undefined) return { kind: 'taken', from: previous };
      const found = await find(pool, claim.slot);
      if (!found) return { kind: 'free' };
      return found.finishedAt ? { kind: 'finished' } : { kind: 'running', by: found.claimedBy };
    },
  };
}

/** BACKUP_SCHEDULE's dumps. */
export const backupSlots = slotTable('backup_slots');

/** PITR_BACKUP_SCHEDULE's pgBackRest base backups. */
export const pitrBackupSlots = slotTable('pitr_backup_slots');

/** The dump slots' claim and look-up by name (what tests set up and read back). */
export const claimBackupSlot = backupSlots.claim;
export const findBackupSlot = backupSlots.find;
