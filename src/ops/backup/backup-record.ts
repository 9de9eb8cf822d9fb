/**
 * What the state database records about a backup file the bot trusts (state/backup-records.ts
 * reads and writes it): the fingerprint of its bytes, when it was taken, the row counts then, and
 * its last verification. takeBackup keeps them through a BackupRecordStore, so that ops never
 * knows the bot's own tables.
 */
import type { RowCounts } from './count-rows.js';
import type { Fingerprint } from './fingerprint.js';

/** `bot`: the bot wrote it; `imported`: accepted by an approved `backup import`. */
export type BackupOrigin = 'bot' | 'imported';

export interface RecordedVerification {
  at: string;
  ok: boolean;
  problems: string[];
  restoredCounts: RowCounts;
  durationMs: number;
}

export interface BackupRecord {
  name: string;
  origin: BackupOrigin;
  fingerprint: Fingerprint;
  /** When the bot took it (its own clock), or when it was imported: never read from a file name. */
  takenAt: Date;
  recordedAt: Date;
  recordedBy: string;
  requestedBy: string | null;
  approvedBy: string | null;
  rowCounts: RowCounts | null;
  rowCountsTaken: 'same-snapshot' | 'separately' | null;
  verification: RecordedVerification | null;
}

export interface NewBackupRecord {
  name: string;
  origin: BackupOrigin;
  fingerprint: Fingerprint;
  takenAt: Date;
  recordedBy: string;
  requestedBy?: string;
  approvedBy?: string;
  rowCounts?: RowCounts;
  rowCountsTaken?: 'same-snapshot' | 'separately';
}

/** The records as takeBackup keeps them: `backupRecordStore(state)` (state/backup-records.ts). */
export interface BackupRecordStore {
  /** Runs before the file gets its final name: a failure fails the backup, so no file is published unrecorded. */
  record(record: NewBackupRecord): Promise<unknown>;
  read(): Promise<ReadonlyMap<string, BackupRecord>>;
  /** Forgets the records of files that are gone (deleted by retention, by hand, or never published). */
  forget(names: readonly string[]): Promise<void>;
}
