/**
 * Everything `pitr` shows and `restore --to-time` plans from, read together: the stanza from
 * pgBackRest, the archiver from the database, the lineage of the timeline the database is on (or
 * the one asked for) and the recoverable window along it.
 *
 *   const state = await readPitrState({ pitr, db, now: new Date() });
 *   state.window // { timeline: 2, oldest, newest, backups, … }
 */
import type pg from 'pg';
import { describeFailure } from '../failure.js';
import { readArchiverStatus, type ArchiverStatus } from './archiver.js';
import { currentArchive, readStanzaInfo, type StanzaInfo } from './pgbackrest-info.js';
import type { PitrServices } from './pitr-services.js';
import { recoverableWindow, type RecoverableWindow } from './recovery-window.js';
import { readTimelineLineage, type TimelineLineage } from './timeline-history.js';
import { walTimeline } from './wal.js';

export interface PitrState {
  measuredAt: Date;
  stanza: StanzaInfo;
  archiver: ArchiverStatus | null;
  /** Why the archiver could not be read (the database is down…). */
  archiverProblem?: string;
  /** The timeline the database writes on now (null when it did not answer). */
  currentTimeline: number | null;
  lineage: TimelineLineage | null;
  lineageProblem?: string;
  window: RecoverableWindow | null;
}

export async function readPitrState(options: { pitr: PitrServices; db: pg.Pool; now: Date; timeline?: number; signal?: AbortSignal }): Promise<PitrState> {
  const { pitr, db, now, signal } = options;
  const [stanza, archiver] = await Promise.all([
    readStanzaInfo(pitr.pgbackrest, { signal }),
    readArchiverStatus(db).then(
      (status) => ({ status, problem: undefined }),
      (error: unknown) => ({ status: null, problem: describeFailure(error) }),
    ),
  ]);
  const currentTimeline = archiver.status?.currentTimeline ?? null;
  const base = { measuredAt: now, stanza, archiver: archiver.status, archiverProblem: archiver.problem, currentTimeline };
  const archive = currentArchive(stanza);
  // Without the database, the newest timeline in the archive is the best guess of where it was.
  const timeline = options.timeline ?? currentTimeline ?? (archive?.max ? walTimeline(archive.max) : null);
  if (timeline === null || archive === undefined) return { ...base, lineage: null, lineageProblem: stanza.status.code === 0 ? 'the archive holds no WAL yet' : stanza.status.message, window: null };
  try {
    const lineage = await readTimelineLineage(pitr.pgbackrest, archive.id, timeline, { signal });
    return { ...base, lineage, window: recoverableWindow(stanza, lineage, archiver.status, now) };
  } catch (error) {
    return { ...base, lineage: null, lineageProblem: describeFailure(error), window: null };
  }
}
