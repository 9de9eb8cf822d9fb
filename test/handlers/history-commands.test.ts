/**
 * `growth`, `chart` and the trends of `status`, on a real database with a seeded history: the
 * numbers an operator reads, and what the console does with a chart.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { runConsole } from '../../src/bot/console.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { chartHandler } from '../../src/handlers/chart.js';
import { growthHandler } from '../../src/handlers/growth.js';
import { growthView } from '../../src/bot/views/growth-view.js';
import { DAY_MS } from '../../src/state/history-downsample.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { ago, seedHistory, type SeedSample } from '../support/history.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

const KB = 1024;
const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

let databaseUrl: string;
let kube: FakeKube;
let services: TestServices;
let databaseBytes: number;
let recipesBytes: number;
const opened: TestServices[] = [];

async function liveSizes(s: TestServices): Promise<{ database: number; recipes: number }> {
  const { rows } = await s.db.query<{ database: string; recipes: string }>(
    `SELECT pg_database_size(current_database()) AS database, pg_total_relation_size('recipe_manager.recipes') AS recipes`,
  );
  return { database: Number(rows[0]?.database), recipes: Number(rows[0]?.recipes) };
}

const sample = (at: Date, database: number, recipes: number, extra: Partial<SeedSample> = {}): SeedSample => ({
  at,
  databaseBytes: database,
  largestTables: [{ schema: 'recipe_manager', table: 'recipes', bytes: recipes }],
  ...extra,
});

async function run(s: TestServices, text: string): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, actor, s);
  return { ...reply, seen: renderBlocks(reply.message, { width: 200 }).text };
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  kube = await startFakeKube();
  kube.addVolumeClaim({ namespace: 'recipe-database', name: 'recipe-database-pvc', storageClassName: 'standard', size: '10Gi' });
  services = await openTestServices({ databaseUrl, kubeconfig: kube.kubeconfigPath });
  opened.push(services);
  ({ database: databaseBytes, recipes: recipesBytes } = await liveSizes(services));
  // A database that grew 100 KiB a day for a month (recipes 1 KiB a day), and a little faster in the last day.
  await seedHistory(services.state, [
    sample(ago(30 * DAY_MS), databaseBytes - 30 * 100 * KB, recipesBytes - 30 * KB),
    sample(ago(7 * DAY_MS), databaseBytes - 7 * 100 * KB, recipesBytes - 7 * KB),
    sample(ago(3 * DAY_MS), databaseBytes - 3 * 100 * KB, recipesBytes - 3 * KB),
    sample(ago(DAY_MS), databaseBytes - 120 * KB, recipesBytes - KB),
  ]);
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await kube.close();
});

describe('growth', () => {
  it('compares the database and its tables with a day, a week and a month ago, and says when the volume fills', async () => {
    const result = await growthHandler.run({ sinceMs: null }, handlerContext(services));
    expect(result.nowBytes).toBe(databaseBytes);
    expect(result.points.map((p) => [p.label, p.databaseBytes])).toEqual([
      ['1 day ago', databaseBytes - 120 * KB],
      ['7 days ago', databaseBytes - 700 * KB],
      ['30 days ago', databaseBytes - 3_000 * KB],
    ]);
    // Per day over the week (the default): 700 KiB in 7 days and the minute or so since the seed.
    expect(result.baseline?.label).toBe('7 days ago');
    expect(result.perDayBytes! / KB).toBeCloseTo(100, 0);
    const recipes = result.tables.find((t) => t.table === 'recipes');
    expect(recipes?.nowBytes).toBe(recipesBytes);
    expect(recipes?.thenBytes).toEqual([recipesBytes - KB, recipesBytes - 7 * KB, recipesBytes - 30 * KB]);
    expect((recipes?.perDayBytes ?? 0) / KB).toBeCloseTo(1, 1);
    // A table that was not among the seeded samples' largest has no past.
    expect(result.tables.find((t) => t.table === 'users')?.thenBytes).toEqual([null, null, null]);

    // The volume: 10 GiB from the claim; used = every database on the server + WAL; full at 50 MiB a day.
    expect(result.volume.kind).toBe('known');
    if (result.volume.kind !== 'known') return;
    expect(result.volume.claim).toMatchObject({ capacityBytes: 10 * 1024 ** 3, capacity: '10Gi' });
    expect(result.volume.usedBytes).toBeGreaterThanOrEqual(databaseBytes);
    expect(result.volume.freeBytes).toBe(10 * 1024 ** 3 - result.volume.usedBytes);
    expect(result.volume.fullInMs! / DAY_MS).toBeCloseTo(result.volume.freeBytes / result.perDayBytes!, 6);

    const seen = (await run(services, 'growth')).seen;
    expect(seen).toMatch(/Growth: \+100 KiB per day, over 7d/);
    expect(seen).toContain('7 days ago: ');
    expect(seen).toContain('(+700 KiB)');
    // 100 KiB a day fills 10 GiB in centuries; a month's worth of room says when.
    expect(seen).toMatch(/Volume: \S+ \S+ of 10Gi used \(\d+%\); not full within 10 years at this rate/);
    const soon = renderBlocks(growthView({ ...result, volume: { ...result.volume, fullInMs: 12 * DAY_MS } }), { width: 200 }).text;
    expect(soon).toContain(`full in ~12d (around ${new Date(result.measuredAt.getTime() + 12 * DAY_MS).toISOString().slice(0, 10)}) at this rate`);
    expect(seen).toMatch(/recipes\s+\S+ KiB\s+\+1\.0 KiB\s+\+7\.0 KiB\s+\+30\.0 KiB\s+\+1\.0 KiB/);
  });

  it('takes growth per day over --since, and uses the oldest sample for ages the history does not reach', async () => {
    const since = await growthHandler.run({ sinceMs: 30 * DAY_MS }, handlerContext(services));
    expect(since.baseline?.label).toBe('30 days ago');
    expect(since.perDayBytes! / KB).toBeCloseTo(100, 0);

    const young = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state') });
    opened.push(young);
    await seedHistory(young.state, [sample(ago(3 * DAY_MS), databaseBytes - 90 * KB, recipesBytes), sample(ago(DAY_MS), databaseBytes - 30 * KB, recipesBytes)]);
    const result = await growthHandler.run({ sinceMs: null }, handlerContext(young));
    // 7 and 30 days both fall back to the oldest sample, shown once.
    expect(result.points.map((p) => p.label)).toEqual(['1 day ago', expect.stringMatching(/^the oldest sample \(3d( \d+[ms])? ago\)$/)]);
    expect(result.baseline?.oldest).toBe(true);
    expect(result.perDayBytes! / KB).toBeCloseTo(30, 0);
    // Without Kubernetes there is no volume to speak of.
    expect(result.volume).toEqual({ kind: 'not-configured' });
  });

  it('says there is no history yet, and why, instead of comparing with nothing', async () => {
    const empty = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state') });
    opened.push(empty);
    const reply = await run(empty, 'growth');
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('Sampling is off (HISTORY_INTERVAL=off)');
    expect(reply.seen).toContain('not enough history yet');
    expect((await run(empty, 'growth --since soon')).seen).toContain('needs a duration after --since');
    expect((await run(empty, 'growth recipes')).outcome).toBe('usage');
  });
});

describe('chart', () => {
  it('draws a day of connections as a PNG, with the threshold from the status settings, and a sparkline', async () => {
    const s = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state'), env: { STATUS_CONNECTIONS_MAX_PERCENT: '80' } });
    opened.push(s);
    const day = Array.from({ length: 24 * 60 }, (_, i) => ({ at: ago((24 * 60 - i) * 60_000), connections: 40 + (i % 120), maxConnections: 200 }));
    await seedHistory(s.state, day);
    const reply = await run(s, 'chart connections');
    expect(reply.outcome).toBe('ok');
    expect(reply.image?.filename).toMatch(/^recipedb-connections-\d{8}-\d{4}Z\.png$/);
    const image = PNG.sync.read(reply.image!.png);
    expect([image.width, image.height]).toEqual([1000, 450]);
    expect(reply.seen).toContain('Connections — last 1d');
    expect(reply.seen).toContain('80% of max_connections (160 of 200)');
    expect(reply.seen).toContain('Lowest · highest: 40 connections · 159 connections');
    expect(reply.seen).toMatch(/[▁▂▃▄▅▆▇█]{40,}/);

    const result = await chartHandler.run({ figure: 'cache-hit', sinceMs: 90 * DAY_MS }, handlerContext(s));
    expect(result.window.clamped).toBe(true);
    expect(result.chart.thresholds).toEqual([{ value: 95, label: 'minimum 95% (STATUS_CACHE_HIT_MIN_PERCENT)' }]);
    // 99,000 hits and 1,000 reads per seeded minute: 99% over each interval.
    expect(result.chart.summary.latest).toBeCloseTo(99, 6);
  });

  it('answers a wrong figure with the list, and an empty history with why there is no picture', async () => {
    const empty = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state') });
    opened.push(empty);
    const wrong = await run(empty, 'chart memory');
    expect(wrong.outcome).toBe('usage');
    expect(wrong.seen).toContain('needs one figure: connections, tps, cache-hit, size, longest-tx, locks');
    const none = await run(empty, 'chart tps');
    expect(none.image).toBeUndefined();
    expect(none.seen).toContain('Sampling is off (HISTORY_INTERVAL=off)');
  });

  it('in the console, writes the PNG to a file and prints its path', async () => {
    const s = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state') });
    opened.push(s);
    await seedHistory(s.state, Array.from({ length: 120 }, (_, i) => ({ at: ago((120 - i) * 60_000), commits: 600 + i * 10 })));
    const filesDir = await mkdtemp(path.join(os.tmpdir(), 'charts-'));
    const output = new PassThrough();
    let printed = '';
    output.on('data', (d: Buffer) => (printed += d.toString()));
    await runConsole({ input: Readable.from(['chart tps --since 2h\n']), output, services: s, filesDir });
    const file = /Chart written to (\S+\.png)/.exec(printed)?.[1];
    expect(file, printed).toBeDefined();
    expect(path.dirname(file!)).toBe(filesDir);
    const image = PNG.sync.read(await readFile(file!));
    expect(image.width).toBe(1000);
    expect(printed).toContain('Transactions per second — last 2h');
    expect(printed).toMatch(/[▁▂▃▄▅▆▇█]{30,}/);
  });
});

describe('status trends', () => {
  it('shows how connections and the size moved, from the history', async () => {
    const s = await openTestServices({ databaseUrl, stateDatabaseUrl: await createTestDatabase('state') });
    opened.push(s);
    // Sized again just before: the shared database may have grown a little since the file began.
    const now = await liveSizes(services);
    await seedHistory(s.state, [sample(ago(DAY_MS), now.database - 100 * KB, now.recipes), { at: ago(15 * 60_000), connections: 0 }]);
    const reply = await run(s, 'status');
    // The sample is on a whole minute, so 15 or 16 minutes old.
    expect(reply.seen).toMatch(/Connections: \d+ \/ \d+ on the server · \+\d+ in 1[56] min/);
    const grown = /Database size: \S+ \S+ · \+(\d+) KiB in 24 h/.exec(reply.seen);
    expect(grown, reply.seen).not.toBeNull();
    // 100 KiB, plus whatever the database itself grew by while status ran (statistics, a page or two).
    expect(Number(grown?.[1])).toBeGreaterThanOrEqual(100);
    expect(Number(grown?.[1])).toBeLessThan(140);
    // Without history, no trend and nothing broken.
    const bare = await run(services, 'status');
    expect(bare.seen).not.toContain('in 15 min');
  });
});
