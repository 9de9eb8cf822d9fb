/**
 * The history stays small and keeps its shape: a day and more of synthetic 1-minute samples,
 * folded into 5-minute and hourly rows, compared bucket by bucket with what they replace; and 30
 * days at 1m, measured, as the README states it.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/ops/postgres/pool.js';
import { STATE_SCHEMA, migrate } from '../../src/state/migrate.js';
import { DAY_MS, downsampleHistory } from '../../src/state/history-downsample.js';
import { readHistory, type HistoryRow } from '../../src/state/history-samples.js';
import { createTestDatabase } from '../support/postgres.js';
import { seedHistory, seedThirtyDaysAtOneMinute, type SeedSample } from '../support/history.js';

const NOW = new Date(Date.UTC(2026, 0, 10, 12, 0, 0));
const MINUTE = 60_000;

let pool: pg.Pool;

beforeAll(async () => {
  pool = createPool({ url: await createTestDatabase('state'), connectMs: 3000, statementMs: 60_000, searchPath: STATE_SCHEMA });
  await migrate(pool);
});

afterAll(async () => {
  await pool.end();
});

/** Minute i of a synthetic day: a daily wave of connections, steady commits, a nightly cache miss burst, one long transaction. */
function syntheticSample(i: number, at: Date): SeedSample {
  return {
    at,
    connections: Math.round(60 + 40 * Math.sin(i / 229)) + (i % 1440 === 600 ? 50 : 0),
    active: 5 + (i % 3),
    idle: 40,
    idleInTransaction: i % 11 === 0 ? 2 : 0,
    commits: 1_000 + (i % 7) * 10,
    rollbacks: i % 5,
    blocksHit: 50_000,
    blocksRead: i % 1440 < 60 ? 5_000 : 100,
    countedS: 60,
    databaseBytes: 1_000_000_000 + i * 4_096,
    largestTables: [{ schema: 'recipe_manager', table: 'recipes', bytes: 500_000_000 + i * 2_048 }],
    longestTransactionS: i === 2_000 ? 900 : i % 13,
    locksWaiting: i === 2_001 ? 7 : 0,
  };
}

async function clear(): Promise<void> {
  await pool.query('DELETE FROM history_samples');
}

const sum = (values: (number | null)[]) => values.reduce<number>((a, b) => a + (b ?? 0), 0);

describe('downsampling the history', () => {
  it('folds what is older than a day into 5-minute rows that keep the shape of the minutes they replace', async () => {
    await clear();
    // Three days at 1m, the last sample a minute ago.
    const minutes = 3 * 1_440;
    const seeded = Array.from({ length: minutes }, (_, i) => syntheticSample(i, new Date(NOW.getTime() - (minutes - i) * MINUTE)));
    await seedHistory(pool, seeded);
    const before = await readHistory(pool, { from: new Date(0), to: NOW });

    const result = await downsampleHistory(pool, { now: NOW, retentionMs: 30 * DAY_MS });
    expect(result).toEqual({ folded: [{ bucketS: 300, rowsIn: 2 * 1_440, rowsOut: (2 * 1_440) / 5 }, { bucketS: 3_600, rowsIn: 0, rowsOut: 0 }], deleted: 0 });

    const after = await readHistory(pool, { from: new Date(0), to: NOW });
    const raw = after.filter((r) => r.bucketS === 60);
    const folded = after.filter((r) => r.bucketS === 300);
    expect(raw).toHaveLength(1_440);
    expect(raw[0]?.at).toEqual(new Date(NOW.getTime() - DAY_MS));
    expect(folded).toHaveLength(576);

    // Bucket by bucket: means, sums, the worst, the last.
    for (const bucket of folded) {
      const members = before.filter((r) => r.at >= bucket.at && r.at.getTime() < bucket.at.getTime() + 300_000);
      expect(members).toHaveLength(5);
      expect(bucket.samples).toBe(5);
      expect(bucket.connections).toBeCloseTo(sum(members.map((m) => m.connections)) / 5, 3);
      expect(bucket.connectionsPeak).toBe(Math.max(...members.map((m) => m.connectionsPeak ?? 0)));
      expect(bucket.commits).toBe(sum(members.map((m) => m.commits)));
      expect(bucket.blocksRead).toBe(sum(members.map((m) => m.blocksRead)));
      expect(bucket.countedS).toBe(300);
      expect(bucket.longestTransactionS).toBe(Math.max(...members.map((m) => m.longestTransactionS ?? 0)));
      expect(bucket.databaseBytes).toBe(members.at(-1)?.databaseBytes);
      expect(bucket.largestTables).toEqual(members.at(-1)?.largestTables);
    }
    // The whole: no commit lost, the cache hit of the folded days unchanged, the spikes still there.
    const foldedBefore = before.filter((r) => r.at.getTime() < NOW.getTime() - DAY_MS);
    expect(sum(folded.map((r) => r.commits))).toBe(sum(foldedBefore.map((r) => r.commits)));
    const hit = (rows: HistoryRow[]) => sum(rows.map((r) => r.blocksHit)) / sum(rows.map((r) => (r.blocksHit ?? 0) + (r.blocksRead ?? 0)));
    expect(hit(folded)).toBeCloseTo(hit(foldedBefore), 12);
    expect(Math.max(...folded.map((r) => r.longestTransactionS ?? 0))).toBe(900);
    expect(Math.max(...folded.map((r) => r.locksWaiting ?? 0))).toBe(7);
    expect(Math.max(...folded.map((r) => r.connectionsPeak ?? 0))).toBe(Math.max(...foldedBefore.map((r) => r.connectionsPeak ?? 0)));

    // A second pass has nothing left to fold.
    expect(await downsampleHistory(pool, { now: NOW, retentionMs: 30 * DAY_MS })).toMatchObject({ folded: [{ rowsIn: 0 }, { rowsIn: 0 }], deleted: 0 });
  });

  it('folds 5-minute rows older than a week into hourly ones, weighting each mean by the samples behind it, and forgets what is past the retention', async () => {
    await clear();
    const minutes = 9 * 1_440;
    const seeded = Array.from({ length: minutes }, (_, i) => syntheticSample(i, new Date(NOW.getTime() - (minutes - i) * MINUTE)));
    await seedHistory(pool, seeded);
    // A day later the first day is folded into 5-minute rows; then a week later into hours.
    await downsampleHistory(pool, { now: NOW, retentionMs: 30 * DAY_MS });
    const later = new Date(NOW.getTime() + DAY_MS);
    const result = await downsampleHistory(pool, { now: later, retentionMs: 8 * DAY_MS });
    const rows = await readHistory(pool, { from: new Date(0), to: later });
    // Past 8 days (from `later`) nothing is left: the oldest of the nine days is deleted.
    expect(rows[0]!.at.getTime()).toBeGreaterThanOrEqual(later.getTime() - 8 * DAY_MS);
    expect(result?.deleted).toBeGreaterThan(0);
    const hourly = rows.filter((r) => r.bucketS === 3_600);
    expect(hourly.length).toBeGreaterThan(0);
    for (const hour of hourly) {
      const members = seeded.filter((s) => s.at >= hour.at && s.at.getTime() < hour.at.getTime() + 3_600_000);
      expect(hour.samples).toBe(members.length);
      expect(hour.connections).toBeCloseTo(sum(members.map((m) => m.connections ?? 0)) / members.length, 2);
      expect(hour.commits).toBe(sum(members.map((m) => m.commits ?? 0)));
      expect(hour.connectionsPeak).toBe(Math.max(...members.map((m) => m.connectionsPeak ?? m.connections ?? 0)));
    }
  });

  it('keeps 30 days at 1m in a few thousand rows (the size the README states)', async () => {
    await clear();
    // 43,200 samples with ten largest tables each, as the sampler writes them.
    await seedThirtyDaysAtOneMinute(pool, NOW);
    const bytesBefore = await tableBytes();
    await downsampleHistory(pool, { now: NOW, retentionMs: 30 * DAY_MS });
    await pool.query('VACUUM FULL history_samples');
    const { rows } = await pool.query<{ bucket_s: number; count: number }>('SELECT bucket_s, count(*)::int AS count FROM history_samples GROUP BY 1 ORDER BY 1');
    expect(rows).toEqual([
      { bucket_s: 60, count: 1_440 },
      { bucket_s: 300, count: 6 * 288 },
      { bucket_s: 3_600, count: 23 * 24 },
    ]);
    const bytesAfter = await tableBytes();
    // Printed for the README; the bound is what "small" means here.
    console.info(`history_samples, 30 days at 1m: 43200 rows ${(bytesBefore / 1024 ** 2).toFixed(1)} MB before downsampling; 3720 rows ${(bytesAfter / 1024 ** 2).toFixed(2)} MB after`);
    expect(bytesAfter).toBeLessThan(6 * 1024 ** 2);
  });
});

async function tableBytes(): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('history_samples') AS bytes`);
  return Number(rows[0]?.bytes);
}
