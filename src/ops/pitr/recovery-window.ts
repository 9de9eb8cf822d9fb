/**
 * The recoverable window along a timeline, and the base backup a restore to a moment starts from.
 * The oldest point is a second after the oldest usable base backup ended (pgBackRest's stop times
 * are whole seconds, and recovery is consistent only from the end of the backup); the newest is
 * now while archiving works (the restore archives the current WAL first), else the last segment
 * archived. A backup is usable only on the timeline's lineage, before its branch points.
 *
 *   const window = recoverableWindow(stanza, lineage, archiver, now); // { oldest, newest, backups, … }
 *   const choice = chooseBaseBackup(window, target, now); // { ok: true, backup } | { ok: false, reason }
 */
import { formatTime } from '../../format.js';
import type { ArchiverStatus } from './archiver.js';
import type { BaseBackup, StanzaInfo } from './pgbackrest-info.js';
import type { RecoveryTarget } from './target-time.js';
import { onLineage, type TimelineLineage } from './timeline-history.js';

/** Whole-second stop times: the real end may be up to a second later. */
const STOP_MARGIN_MS = 1_000;

export interface RecoverableWindow {
  timeline: number;
  /** The base backups a recovery along this timeline can start from, oldest first. */
  backups: BaseBackup[];
  /** Backups of the stanza that are not on this timeline's lineage (from an abandoned branch). */
  offLineage: BaseBackup[];
  oldest: Date | null;
  newest: Date | null;
  /** True while archiving works: up to the moment of the restore. */
  newestIsNow: boolean;
  /** Why the newest point is not now. */
  newestLimit?: string;
}

export function recoverableWindow(info: StanzaInfo, lineage: TimelineLineage, archiver: ArchiverStatus | null, now: Date): RecoverableWindow {
  const usable = info.backups.filter((b) => onLineage(lineage, b));
  const offLineage = info.backups.filter((b) => !onLineage(lineage, b));
  const first = usable[0];
  const oldest = first ? new Date(first.stoppedAt.getTime() + STOP_MARGIN_MS) : null;
  if (archiver === null) {
    return { timeline: lineage.timeline, backups: usable, offLineage, oldest, newest: null, newestIsNow: false, newestLimit: 'the database did not answer, so how far its WAL is archived is unknown' };
  }
  if (archiver.healthy) return { timeline: lineage.timeline, backups: usable, offLineage, oldest, newest: now, newestIsNow: true };
  return { timeline: lineage.timeline, backups: usable, offLineage, oldest, newest: archiver.lastArchivedAt, newestIsNow: false, newestLimit: archiver.problem };
}

export type BaseBackupChoice = { ok: true; backup: BaseBackup } | { ok: false; reason: string };

export function chooseBaseBackup(window: RecoverableWindow, target: RecoveryTarget, now: Date): BaseBackupChoice {
  const at = formatTime(new Date(target.epochMs));
  if (window.oldest === null) {
    return { ok: false, reason: `there is no base backup on timeline ${window.timeline}'s history to start from: take one with \`/recipedb pitr backup --full\`` };
  }
  if (target.epochMs > now.getTime()) return { ok: false, reason: `${at} is in the future (it is ${formatTime(now)} now)` };
  if (target.epochMs < window.oldest.getTime()) {
    const first = window.backups[0];
    return {
      ok: false,
      reason: `${at} is before the oldest recoverable point, ${formatTime(window.oldest)} (the end of the oldest base backup, ${first?.label ?? '?'}): the database cannot be taken back further`,
    };
  }
  if (!window.newestIsNow && (window.newest === null || target.epochMs > window.newest.getTime())) {
    const newest = window.newest ? `the newest recoverable point is ${formatTime(window.newest)}` : 'the newest recoverable point is unknown';
    return { ok: false, reason: `${at} is after what the archive holds: ${newest}, because ${window.newestLimit ?? 'archiving is not working'}` };
  }
  const candidates = window.backups.filter((b) => b.stoppedAt.getTime() + STOP_MARGIN_MS <= target.epochMs);
  const backup = candidates[candidates.length - 1];
  if (!backup) return { ok: false, reason: `no base backup ended before ${at}` };
  return { ok: true, backup };
}
