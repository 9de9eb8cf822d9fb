/**
 * The history sampler on real databases: two replicas (two services on one state database) tick
 * on the same slot and exactly one samples it; what it stores is what the database says, with
 * commits and the cache hit taken over the interval; a failed sample leaves a gap that says why.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHistorySampler } from '../../src/jobs/history-sampler.js';
import { sampleFigures } from '../../src/jobs/history-sample.js';
import type { ServerStatus } from '../../src/ops/postgres/server-status.js';
import { readHistory } from '../../src/state/history-samples.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { openTestServices, type TestServices } from '../support/services.js';

let databaseUrl: string;
let stateDatabaseUrl: string;
let replicaA: TestServices;
let replicaB: TestServices;
const opened: TestServices[] = [];

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  stateDatabaseUrl = await createTestDatabase('state');
  replicaA = await openTestServices({ databaseUrl, stateDatabaseUrl });
  replicaB = await openTestServices({ databaseUrl, stateDatabaseUrl });
  opened.push(replicaA, replicaB);
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

const SLOT = new Date(Date.UTC(2026, 0, 15, 10, 31, 0));
const MINUTE = 60_000;

async function rowsAt(at: Date) {
  const { rows } = await replicaA.state.query<{ claimed_by: string; samples: number; error: string | null }>(
    'SELECT claimed_by, samples, error FROM history_samples WHERE at = $1',
    [at],
  );
  return rows;
}

async function commitsNow(): Promise<number> {
  const { rows } = await replicaA.db.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.n);
}

describe('the history sampler', () => {
  it('samples each slot once across two replicas, with what the database says', async () => {
    const a = createHistorySampler(replicaA, { intervalMs: MINUTE, instance: 'replica-a' });
    const b = createHistorySampler(replicaB, { intervalMs: MINUTE, instance: 'replica-b' });
    // Both tick on the same slot at once, a few seconds apart inside it, as their timers do.
    const [ta, tb] = await Promise.all([a.tick(new Date(SLOT.getTime() + 1_000)), b.tick(new Date(SLOT.getTime() + 1_200))]);
    expect([ta.kind, tb.kind].sort()).toEqual(['claimed-elsewhere', 'sampled']);
    const rows = await rowsAt(SLOT);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ claimed_by: ta.kind === 'sampled' ? 'replica-a' : 'replica-b', samples: 1, error: null });

    const [first] = await readHistory(replicaA.state, { from: SLOT, to: SLOT });
    const { rows: truth } = await replicaA.db.query<{ size: string; max: number }>(
      `SELECT pg_database_size(current_database()) AS size, current_setting('max_connections')::int AS max`,
    );
    expect(first?.maxConnections).toBe(truth[0]?.max);
    expect(first?.connections).toBeGreaterThanOrEqual(1);
    expect(Math.abs((first?.databaseBytes ?? 0) - Number(truth[0]?.size))).toBeLessThan(1024 * 1024);
    expect(first?.largestTables?.map((t) => `${t.schema}.${t.table}`)).toContain('recipe_manager.recipes');
    expect(first?.largestTables?.length).toBeLessThanOrEqual(10);
    // The first sample has nothing to take increases from.
    expect(first?.commits).toBeNull();

    // A minute of work on the database, then the next slot: the increases are that minute's.
    const app = new pg.Client({ connectionString: databaseUrl });
    await app.connect();
    const before = await commitsNow();
    for (let i = 0; i < 40; i++) await app.query('SELECT count(*) FROM recipe_manager.recipes');
    await app.end();
    // Backends report their counters shortly after; wait until they show.
    for (let waited = 0; (await commitsNow()) < before + 40 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));

    const next = new Date(SLOT.getTime() + MINUTE);
    const [na, nb] = await Promise.all([a.tick(new Date(next.getTime() + 1_000)), b.tick(new Date(next.getTime() + 900))]);
    expect([na.kind, nb.kind].sort()).toEqual(['claimed-elsewhere', 'sampled']);
    const [, second] = await readHistory(replicaA.state, { from: SLOT, to: next });
    expect(second?.countedS).toBeCloseTo(60, 0);
    expect(second?.commits).toBeGreaterThanOrEqual(40);
    expect(second?.blocksHit).toBeGreaterThan(0);
    // A replica asked again about a slot it settled does not go back to the database.
    expect((await a.tick(new Date(next.getTime() + 30_000))).kind).toBe('idle');
    expect(await rowsAt(next)).toHaveLength(1);
  });

  it('runs from the services of every replica (HISTORY_INTERVAL), and the slot they share is sampled by one', async () => {
    const state = await createTestDatabase('state');
    const env = { HISTORY_INTERVAL: '10s' };
    const [one, two] = await Promise.all([openTestServices({ databaseUrl, stateDatabaseUrl: state, env }), openTestServices({ databaseUrl, stateDatabaseUrl: state, env })]);
    opened.push(one!, two!);
    // Each ticks as it starts; wait for the sample of that slot.
    let rows: { at: Date; claimed_by: string; samples: number }[] = [];
    for (let waited = 0; waited < 10_000; waited += 100) {
      rows = (await one!.state.query<{ at: Date; claimed_by: string; samples: number }>('SELECT at, claimed_by, samples FROM history_samples ORDER BY at')).rows;
      if (rows.some((r) => r.samples === 1)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows.some((r) => r.samples === 1)).toBe(true);
    // One row per slot (the primary key), each claimed by one of the two replicas.
    for (const row of rows) expect([one!.instance, two!.instance]).toContain(row.claimed_by);
    expect(new Set(rows.map((r) => r.at.getTime())).size).toBe(rows.length);
  });

  it('records a failed sample as a gap that says why, and samples again once the database answers', async () => {
    const down = await openTestServices({ databaseUrl: 'postgres://nobody@127.0.0.1:1/recipe_database', stateDatabaseUrl, env: { DB_CONNECT_TIMEOUT: '1s' } });
    opened.push(down);
    const slot = new Date(SLOT.getTime() + 10 * MINUTE);
    const tick = await createHistorySampler(down, { intervalMs: MINUTE, instance: 'replica-down' }).tick(slot);
    expect(tick.kind).toBe('failed');
    const [row] = await rowsAt(slot);
    expect(row).toMatchObject({ claimed_by: 'replica-down', samples: 0 });
    expect(row?.error).toBe(tick.kind === 'failed' ? tick.reason : '');
    expect(row?.error).toMatch(/refused|connect/i);
    // Readers see no figures for that slot: a gap.
    expect(await readHistory(down.state, { from: slot, to: slot })).toEqual([]);
    expect(down.logCapture.text()).toContain('history: could not sample the database');
  });

  it('takes no increases across a server restart or a stats reset: the counters started again from zero', () => {
    const status = (commits: number, startedAt: string): ServerStatus =>
      ({
        connections: [{ state: 'active', count: 2 }, { state: 'idle', count: 5 }, { state: 'idle in transaction', count: 1 }, { state: 'idle in transaction (aborted)', count: 1 }],
        totalConnections: 9, maxConnections: 100, commits, rollbacks: 0, blocksHit: 10, blocksRead: 1, statsResetAt: null,
        startedAt: new Date(startedAt), databaseSizeBytes: 1, longestTransaction: null, locks: { granted: 0, waiting: 3 }, replication: [],
      }) as unknown as ServerStatus;
    const first = sampleFigures(status(1_000, '2026-01-01T00:00:00Z'), [], null, new Date('2026-01-15T10:00:00Z'));
    expect(first).toMatchObject({ connections: 9, active: 2, idle: 5, idleInTransaction: 2, locksWaiting: 3, commits: null });
    const later = sampleFigures(status(1_600, '2026-01-01T00:00:00Z'), [], first.counters, new Date('2026-01-15T10:01:00Z'));
    expect(later).toMatchObject({ commits: 600, countedS: 60 });
    const restarted = sampleFigures(status(50, '2026-01-15T10:00:30Z'), [], later.counters, new Date('2026-01-15T10:02:00Z'));
    expect(restarted.commits).toBeNull();
  });
});
