/** What a scheduled backup slot came to, as OPS_CHANNEL is told (views/scheduled-backup-view.ts). */

export interface ScheduledBackupDone {
  kind: 'ok';
  slot: Date;
  name: string;
  sizeBytes: number;
  durationMs: number;
  rowCounts: Record<string, number | null>;
  deleted: string[];
  retentionDays: number;
  warnings: string[];
  next: Date;
  finishedAt: Date;
}

export interface ScheduledBackupFailed {
  kind: 'failed';
  slot: Date;
  reason: string;
  next: Date;
  failedAt: Date;
}

export type ScheduledBackupReport = ScheduledBackupDone | ScheduledBackupFailed;
