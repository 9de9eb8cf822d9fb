/**
 * Timelines: every point-in-time restore starts a new one, branching off its parent at the LSN
 * where recovery stopped. A timeline's history file (`00000002.history`, in the WAL archive) lists
 * its ancestors and where each was left:
 *
 *   1	0/6018458	before 2026-12-03 12:50:50.19214+00
 *
 * A base backup can be the start of a recovery along timeline N only if it was taken on N's
 * lineage before the branch point (pgBackRest picks the newest backup by time alone, which after a
 * restore can be one from the abandoned branch: "could not locate required checkpoint record").
 *
 *   const lineage = { timeline: 2, ancestors: parseTimelineHistory(text) }; // ancestors: [{ timeline: 1, endLsn: 0x6018458n, reason }]
 *   onLineage(lineage, { timeline: 1, stopLsn: 0x5000138n }) // true
 *   await readTimelineLineage(pgbackrest, '15-1', 2) // the same, read from the repository
 */
import { failure } from '../failure.js';
import type { PgBackRest } from './pgbackrest.js';
import { formatLsn, historyFileName, parseLsn } from './wal.js';

export interface TimelineBranch {
  /** The ancestor timeline… */
  timeline: number;
  /** …left at this LSN (the child starts here). */
  endLsn: bigint;
  /** PostgreSQL's note: "before 2026-12-03 12:50:50.19214+00", "no recovery target specified". */
  reason: string;
}

export interface TimelineLineage {
  timeline: number;
  /** Oldest first. Empty for timeline 1. */
  ancestors: TimelineBranch[];
}

export function parseTimelineHistory(text: string): TimelineBranch[] {
  const branches: TimelineBranch[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [timeline, lsn, ...reason] = line.split(/\s+/);
    if (!/^\d+$/.test(timeline ?? '') || lsn === undefined) throw new Error(`not a timeline history line: "${line}"`);
    branches.push({ timeline: Number(timeline), endLsn: parseLsn(lsn), reason: reason.join(' ') });
  }
  return branches;
}

/** Whether recovery along the lineage can start from a backup taken on `timeline`, ending at `stopLsn`. */
export function onLineage(lineage: TimelineLineage, backup: { timeline: number; stopLsn: bigint }): boolean {
  if (backup.timeline === lineage.timeline) return true;
  const branch = lineage.ancestors.find((a) => a.timeline === backup.timeline);
  return branch !== undefined && backup.stopLsn <= branch.endLsn;
}

/** "timeline 1 up to 0/6018458, then timeline 2" — the path recovery replays from a backup on `from`. */
export function describeReplayPath(lineage: TimelineLineage, from: number): string {
  const start = lineage.ancestors.findIndex((a) => a.timeline === from);
  const hops = start < 0 ? [] : lineage.ancestors.slice(start);
  const parts = hops.map((a) => `timeline ${a.timeline} up to ${formatLsn(a.endLsn)}`);
  parts.push(`timeline ${lineage.timeline}`);
  return parts.join(', then ');
}


/** The lineage of `timeline`, from its history file in the repository's WAL archive (`repo-get`). */
export async function readTimelineLineage(pgbackrest: PgBackRest, archiveId: string, timeline: number, options: { signal?: AbortSignal } = {}): Promise<TimelineLineage> {
  if (timeline === 1) return { timeline, ancestors: [] };
  const file = `archive/${pgbackrest.stanza}/${archiveId}/${historyFileName(timeline)}`;
  let text: string;
  try {
    text = await pgbackrest.run(['repo-get', file], { timeoutMs: 60_000, signal: options.signal });
  } catch (error) {
    throw failure(`the history of timeline ${timeline} (${historyFileName(timeline)}) could not be read from the repository: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return { timeline, ancestors: parseTimelineHistory(text) };
}
