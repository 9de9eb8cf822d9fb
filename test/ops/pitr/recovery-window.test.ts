/**
 * The recoverable window and the base backup a restore starts from, on pgBackRest's real `info`
 * output (taken on this machine before and after a point-in-time restore: a full and an
 * incremental backup on timeline 1, then an incremental on timeline 2). After the restore, the
 * incremental on timeline 1 was taken after the branch point: recovery along timeline 2 must
 * never start from it (pgBackRest's own choice by time would, and fail).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ArchiverStatus } from '../../../src/ops/pitr/archiver.js';
import { parseStanzaInfo } from '../../../src/ops/pitr/pgbackrest-info.js';
import { chooseBaseBackup, recoverableWindow } from '../../../src/ops/pitr/recovery-window.js';
import { parseTargetTime, type RecoveryTarget } from '../../../src/ops/pitr/target-time.js';
import { describeReplayPath, onLineage, parseTimelineHistory } from '../../../src/ops/pitr/timeline-history.js';
import { segmentsBetween, walSegmentNumber } from '../../../src/ops/pitr/wal.js';

const sample = JSON.parse(readFileSync(new URL('../../fixtures/pgbackrest-info-sample.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const before = parseStanzaInfo(JSON.stringify(sample.before_restore), 'demo');
const after = parseStanzaInfo(JSON.stringify(sample.after_pitr_and_new_backup), 'demo');
// 00000002.history as PostgreSQL wrote it for a restore to a moment between the two backups.
const history = parseTimelineHistory('1\t0/4005238\tbefore 2026-12-03 12:48:35.5+00\n');
const timeline2 = { timeline: 2, ancestors: history };
const timeline1 = { timeline: 1, ancestors: [] };

const healthy = { healthy: true, lastArchivedAt: new Date('2026-12-03T12:48:55Z') } as ArchiverStatus;
const failing = { healthy: false, lastArchivedAt: new Date('2026-12-03T12:48:55Z'), problem: 'archiving is failing: …' } as ArchiverStatus;
const now = new Date('2026-12-03T13:00:00Z');
const target = (iso: string): RecoveryTarget => {
  const parsed = parseTargetTime(iso);
  if (parsed.kind !== 'at') throw new Error(iso);
  return parsed.target;
};

describe('pgbackrest info --output=json', () => {
  it('reads the base backups oldest first, with type, times, sizes, LSNs and timeline', () => {
    expect(after.status).toEqual({ code: 0, message: 'ok', backupRunning: false });
    expect(after.backups.map((b) => [b.label, b.type, b.timeline])).toEqual([
      ['20261203-124823F', 'full', 1],
      ['20261203-124823F_20261203-124837I', 'incr', 1],
      ['20261203-124823F_20261203-124848I', 'incr', 2],
    ]);
    expect(after.backups[0]).toMatchObject({
      startedAt: new Date(1796302103 * 1000),
      stoppedAt: new Date(1796302112 * 1000),
      durationMs: 9_000,
      sizeBytes: 23050153,
      deltaBytes: 23050153,
      repoSizeBytes: 3059018,
      stopLsn: 0x3000100n,
      startWal: '000000010000000000000003',
      references: [],
    });
    expect(after.archives).toEqual([{ id: '15-1', min: '000000010000000000000001', max: '000000020000000000000007' }]);
  });

  it('refuses what is not its JSON in one sentence', () => {
    expect(() => parseStanzaInfo('ERROR: [055]', 'demo')).toThrow('pgbackrest info did not print JSON');
    expect(() => parseStanzaInfo('[{"name":"demo"}]', 'demo')).toThrow(/pgbackrest info printed JSON the bot does not understand/);
    expect(() => parseStanzaInfo(JSON.stringify(sample.before_restore), 'other')).toThrow('pgbackrest info knows no stanza other');
  });
});

describe('timelines', () => {
  it('keeps only the backups on the lineage, before each branch point', () => {
    const [full, incr1, incr2] = after.backups as [never, never, never];
    expect([onLineage(timeline2, full), onLineage(timeline2, incr1), onLineage(timeline2, incr2)]).toEqual([true, false, true]);
    expect([onLineage(timeline1, full), onLineage(timeline1, incr1), onLineage(timeline1, incr2)]).toEqual([true, true, false]);
    expect(describeReplayPath(timeline2, 1)).toBe('timeline 1 up to 0/4005238, then timeline 2');
    expect(describeReplayPath(timeline2, 2)).toBe('timeline 2');
  });

  it('counts WAL segments across timelines', () => {
    expect(walSegmentNumber('000000020000000100000003')).toBe(256 + 3);
    expect(segmentsBetween('000000010000000000000003', '000000020000000000000007')).toBe(5);
  });
});

describe('recoverableWindow and chooseBaseBackup', () => {
  it('spans from a second after the oldest backup ended to now, while archiving works', () => {
    const window = recoverableWindow(before, timeline1, healthy, now);
    expect(window).toMatchObject({ timeline: 1, oldest: new Date((1796302112 + 1) * 1000), newest: now, newestIsNow: true });
    expect(window.backups).toHaveLength(2);
  });

  it('starts from the newest backup on the lineage that ended before the target — never one of an abandoned branch', () => {
    const window = recoverableWindow(after, timeline2, healthy, now);
    expect(window.offLineage.map((b) => b.label)).toEqual(['20261203-124823F_20261203-124837I']);
    const pick = (iso: string) => {
      const choice = chooseBaseBackup(window, target(iso), now);
      return choice.ok ? choice.backup.label : choice.reason;
    };
    // After the timeline 1 incremental ended, but that one is not on timeline 2's history: the full.
    expect(pick('2026-12-03T12:48:45Z')).toBe('20261203-124823F');
    expect(pick('2026-12-03T12:50:00Z')).toBe('20261203-124823F_20261203-124848I');
    // Whole-second stop times: a target in the second the backup ended could be before its real end.
    const fullStop = new Date(1796302112 * 1000).toISOString();
    expect(pick(fullStop)).toMatch(/is before the oldest recoverable point/);
  });

  it('refuses a target before the window, in the future, or past what a failing archive holds', () => {
    const window = recoverableWindow(before, timeline1, healthy, now);
    const refused = (iso: string, w = window) => {
      const choice = chooseBaseBackup(w, target(iso), now);
      return choice.ok ? `chose ${choice.backup.label}` : choice.reason;
    };
    expect(refused('2026-12-03T12:00:00Z')).toBe(
      '2026-12-03 12:00:00 UTC is before the oldest recoverable point, 2026-12-03 12:48:33 UTC (the end of the oldest base backup, 20261203-124823F): the database cannot be taken back further',
    );
    expect(refused('2026-12-03T14:00:00Z')).toBe('2026-12-03 14:00:00 UTC is in the future (it is 2026-12-03 13:00:00 UTC now)');
    const broken = recoverableWindow(before, timeline1, failing, now);
    expect(refused('2026-12-03T12:55:00Z', broken)).toBe(
      '2026-12-03 12:55:00 UTC is after what the archive holds: the newest recoverable point is 2026-12-03 12:48:55 UTC, because archiving is failing: …',
    );
    expect(refused('2026-12-03T12:48:45Z', broken)).toBe('chose 20261203-124823F_20261203-124837I');
    const empty = recoverableWindow({ ...before, backups: [] }, timeline1, healthy, now);
    expect(refused('2026-12-03T12:55:00Z', empty)).toMatch(/^there is no base backup on timeline 1's history to start from/);
  });
});
