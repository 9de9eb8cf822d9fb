/**
 * The backups the bot trusts, in the state database (table backup_files): each file it wrote, with
 * the fingerprint of its bytes, the row counts at backup time and its last verification, and each
 * file accepted by an approved `backup import`. A file in BACKUP_DIR without a record, or whose
 * bytes differ from its record, is never verified or restored.
 *
 *   await recordBackupFile(state, { name, origin: 'bot', fingerprint, takenAt, recordedBy, … });
 *   const records = await readBackupRecords(state); // Map name → BackupRecord
 *   await takeBackup({ …, records: backupRecordStore(state) });
 */
import type pg from 'pg';
import type { BackupOrigin, BackupRecord, BackupRecordStore, NewBackupRecord, RecordedVerification } from '../ops/backup/backup-record.js';
import type { RowCounts } from '../ops/backup/count-rows.js';

export type { BackupOrigin, BackupRecord, NewBackupRecord, RecordedVerification };

interface Row {
  name: string;
  origin: BackupOrigin;
  sha256: string;
  size_bytes: string;
  chunk_bytes: number;
  chunk_sha256: Buffer;
  taken_at: Date;
  recorded_at: Date;
  recorded_by: string;
  requested_by: string | null;
  approved_by: string | null;
  row_counts: RowCounts | null;
  row_counts_taken: 'same-snapshot' | 'separately' | null;
  verification: RecordedVerification | null;
}

function fromRow(row: Row): BackupRecord {
  return {
    name: row.name,
    origin: row.origin,
    fingerprint: { sha256: row.sha256, sizeBytes: Number(row.size_bytes), chunkBytes: row.chunk_bytes, chunkSha256: row.chunk_sha256 },
    takenAt: row.taken_at,
    recordedAt: row.recorded_at,
    recordedBy: row.recorded_by,
    requestedBy: row.requested_by,
    approvedBy: row.approved_by,
    rowCounts: row.row_counts,
    rowCountsTaken: row.row_counts_taken,
    verification: row.verification,
  };
}

/** Writes (or, for an import of a file whose record no longer matches, replaces) the record of a file. */
export async function recordBackupFile(pool: pg.Pool, record: NewBackupRecord): Promise<BackupRecord> {
  const f = record.fingerprint;
  const { rows } = await pool.query<Row>(
    `INSERT INTO backup_files (name, origin, sha256, size_bytes, chunk_bytes, chunk_sha256, taken_at, recorded_by, requested_by, approved_by, row_counts, row_counts_taken)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (name) DO UPDATE SET
       origin = EXCLUDED.origin, sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, chunk_bytes = EXCLUDED.chunk_bytes,
       chunk_sha256 = EXCLUDED.chunk_sha256, taken_at = EXCLUDED.taken_at, recorded_at = now(), recorded_by = EXCLUDED.recorded_by,
       requested_by = EXCLUDED.requested_by, approved_by = EXCLUDED.approved_by, row_counts = EXCLUDED.row_counts,
       row_counts_taken = EXCLUDED.row_counts_taken, verification = NULL
     RETURNING *`,
    [
      record.name,
      record.origin,
      f.sha256,
      f.sizeBytes,
      f.chunkBytes,
      f.chunkSha256,
      record.takenAt,
      record.recordedBy,
      record.requestedBy ?? null,
      record.approvedBy ?? null,
      record.rowCounts ? JSON.stringify(record.rowCounts) : null,
      record.rowCountsTaken ?? null,
    ],
  );
  return fromRow(rows[0] as Row);
}

export async function readBackupRecords(pool: pg.Pool): Promise<Map<string, BackupRecord>> {
  const { rows } = await pool.query<Row>('SELECT * FROM backup_files');
  return new Map(rows.map((row) => [row.name, fromRow(row)]));
}

export async function findBackupRecord(pool: pg.Pool, name: string): Promise<BackupRecord | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM backup_files WHERE name = $1', [name]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function recordVerification(pool: pg.Pool, name: string, sha256: string, verification: RecordedVerification): Promise<void> {
  // Only onto the record of the bytes that were verified (an import may have replaced it meanwhile).
  await pool.query('UPDATE backup_files SET verification = $3 WHERE name = $1 AND sha256 = $2', [name, sha256, JSON.stringify(verification)]);
}

/** Forgets the records of files that are gone (deleted by retention, by hand, or never published). */
export async function forgetBackupFiles(pool: pg.Pool, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await pool.query('DELETE FROM backup_files WHERE name = ANY($1::text[])', [names]);
}

/** The table as takeBackup (ops/backup/take-backup.ts) records, reads and forgets files. */
export function backupRecordStore(pool: pg.Pool): BackupRecordStore {
  return {
    record: (record) => recordBackupFile(pool, record),
    read: () => readBackupRecords(pool),
    forget: (names) => forgetBackupFiles(pool, names),
  };
}
