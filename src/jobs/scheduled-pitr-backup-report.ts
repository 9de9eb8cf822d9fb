/** What a slot of PITR_BACKUP_SCHEDULE came to, as OPS_CHANNEL is told (views/scheduled-pitr-backup-view.ts). */

export interface ScheduledPitrBackupDone {
  kind: 'ok';
  slot: Date;
  label: string;
  type: 'full' | 'diff' | 'incr';
  /** Why it is that type: "the newest full backup is 8d old (PITR_FULL_BACKUP_INTERVAL 7d)". */
  why: string;
  deltaBytes: number;
  repoDeltaBytes: number;
  durationMs: number;
  expired: string[];
  next: Date;
  finishedAt: Date;
}

export interface ScheduledPitrBackupFailed {
  kind: 'failed';
  slot: Date;
  reason: string;
  next: Date;
  failedAt: Date;
}

export type ScheduledPitrBackupReport = ScheduledPitrBackupDone | ScheduledPitrBackupFailed;
