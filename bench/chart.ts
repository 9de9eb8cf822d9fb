/**
 * `chart`: what a picture costs (issue 18). The bot as deployed (compiled, in a process of its
 * own) answers `chart connections` over a day of 1-minute history: end to end from the signed
 * command to the completed upload at the fake Slack, first and warm, and the resident memory the
 * first chart adds (ECharts, resvg, the fonts). Then rendering alone in a fresh process. And the
 * history table's size for 30 days at 1m once downsampled.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool } from '../src/ops/postgres/pool.js';
import { databaseUrl, ensureDatabase } from '../src/ops/postgres/databases.js';
import { DAY_MS, downsampleHistory } from '../src/state/history-downsample.js';
import { STATE_SCHEMA } from '../src/state/migrate.js';
import { seedHistory, seedThirtyDaysAtOneMinute, ago } from '../test/support/history.js';
import { startBotProcess } from './bot-process.js';
import type { Harness } from './harness.js';
import { readMemory } from './process-memory.js';
import type { BenchContext, SectionResult } from './section.js';
import { summarize } from './stats.js';

const WARM = 20;
const CHANNEL = 'C_BENCH_CHART';
const STATE_DATABASE = 'recipedb_ops_chart_bench';
const RENDER_SCRIPT = fileURLToPath(new URL('./chart-render-process.mjs', import.meta.url));
const TIMEOUT_MS = 30_000;

interface RenderMemory {
  renders: number;
  rssMb: number;
  heapTotalMb: number;
  /** After a full collection: what is really alive. */
  liveHeapMb: number;
  externalMb: number;
}

interface RenderRun {
  firstMs: number;
  warm: number[];
  pngBytes: number;
  before: RenderMemory;
  stages: RenderMemory[];
}

/** Far enough to tell a leak (grows with every chart) from a plateau (levels off). */
const RENDER_STAGES = [1, 10, 50, 100];

export async function chartSection({ harness, say }: BenchContext): Promise<SectionResult> {
  const work = await mkdtemp(path.join(harness.root, 'chart-bench-'));
  await ensureDatabase(harness.adminUrl, STATE_DATABASE);
  const stateDatabaseUrl = databaseUrl(harness.adminUrl, STATE_DATABASE);
  say('chart: starting the compiled bot in a process of its own…');
  const bot = await startBotProcess({ databaseUrl: harness.databaseUrl, stateDatabaseUrl, backupDir: path.join(work, 'backups'), logFile: path.join(work, 'bot.log'), slack: harness.slack });
  const state = createPool({ url: stateDatabaseUrl, connectMs: 3000, statementMs: 120_000, searchPath: STATE_SCHEMA });
  try {
    await seedHistory(state, Array.from({ length: 1_440 }, (_, i) => ({ at: ago((1_440 - i) * 60_000 + 120_000), connections: Math.round(80 + 50 * Math.sin(i / 200)), maxConnections: 200 })));
    const idle = await readMemory(bot.pid);
    say('chart: the first chart…');
    const firstMs = await botChart(harness, bot.client);
    const afterFirst = await readMemory(bot.pid);
    say(`chart: ${WARM} more…`);
    const warm: number[] = [];
    for (let i = 0; i < WARM; i++) warm.push(await botChart(harness, bot.client));
    const afterWarm = await readMemory(bot.pid);

    say('chart: rendering alone in a fresh process…');
    const render = await renderInFreshProcess();
    say('chart: the history table for 30 days at 1m…');
    const history = await historySize(harness);

    const w = summarize(warm);
    const r = summarize(render.warm);
    const mb = (kb: number) => kb / 1024;
    return {
      title: `chart connections over a day of 1-minute samples (first, then ${WARM} sequential)`,
      baseline: 'none: the cost of a picture on its own',
      figures: [
        { name: 'chart end to end, first', unit: 'ms', bot: firstMs, baseline: null, ratio: null },
        { name: 'chart end to end, median', unit: 'ms', bot: w.p50, baseline: null, ratio: null },
        { name: 'render, first (loads ECharts, resvg, fonts)', unit: 'ms', bot: render.firstMs, baseline: null, ratio: null },
        { name: 'render, warm median', unit: 'ms', bot: r.p50, baseline: null, ratio: null },
        { name: 'bot RSS added by the first chart', unit: 'MB', bot: mb(afterFirst.rssKb - idle.rssKb), baseline: null, ratio: null },
        { name: `bot RSS added after ${WARM + 1} charts`, unit: 'MB', bot: mb(afterWarm.rssKb - idle.rssKb), baseline: null, ratio: null },
        ...renderMemoryFigures(render),
        { name: 'history table, 30 days at 1m', unit: 'MB', bot: history.bytes / 1024 ** 2, baseline: history.rawBytes / 1024 ** 2, ratio: { value: history.rawBytes / history.bytes, reads: 'smaller (raw/downsampled)' } },
      ],
      notes: [
        `End to end: signed /recipedb chart → files.getUploadURLExternal, the PNG (${render.pngBytes.toLocaleString('en-US')} bytes) to the upload_url, files.completeUploadExternal at the fake Slack.`,
        `Bot RSS: idle ${mb(idle.rssKb).toFixed(0)} MB, after the first chart ${mb(afterFirst.rssKb).toFixed(0)} MB, after ${WARM + 1} ${mb(afterWarm.rssKb).toFixed(0)} MB (peak ${mb(afterWarm.hwmKb).toFixed(0)} MB).`,
        `Fresh render process (--expose-gc), RSS / heap V8 holds / live heap after a GC: before ${memory(render.before)}; ${render.stages.map((s) => `after ${s.renders}: ${memory(s)}`).join('; ')}.`,
        `History: ${history.rows.toLocaleString('en-US')} rows after downsampling (43,200 raw); the baseline column is the raw table.`,
      ],
      details: { firstMs, warm: w, render, idle, afterFirst, afterWarm, history },
    };
  } finally {
    await state.end();
    await bot.stop();
  }
}

/** RSS added after the first and after the last stage; the ratio says leak (keeps growing) or plateau. */
function renderMemoryFigures(render: RenderRun): SectionResult['figures'] {
  const first = render.stages[0];
  const last = render.stages.at(-1);
  if (first === undefined || last === undefined) return [];
  const added = (s: RenderMemory) => s.rssMb - render.before.rssMb;
  return [
    { name: `render RSS added after ${last.renders} (vs after ${first.renders})`, unit: 'MB', bot: added(last), baseline: added(first), ratio: { value: added(last) / added(first), reads: `growth from ${first.renders} to ${last.renders} renders` } },
    { name: `render live heap after ${last.renders} (vs after ${first.renders})`, unit: 'MB', bot: last.liveHeapMb, baseline: first.liveHeapMb, ratio: { value: last.liveHeapMb / first.liveHeapMb, reads: 'live JS heap growth' } },
  ];
}

function memory(s: RenderMemory): string {
  return `${s.rssMb.toFixed(0)} / ${s.heapTotalMb.toFixed(0)} / ${s.liveHeapMb.toFixed(1)} MB`;
}

async function botChart(harness: Harness, client: { command: (text: string, o: { channelId: string }) => Promise<{ status: number }> }): Promise<number> {
  const { slack } = harness;
  slack.reset();
  const completed = slack.waitFor('files.completeUploadExternal', (c) => c.body.channel_id === CHANNEL, TIMEOUT_MS);
  completed.catch(() => undefined);
  const started = performance.now();
  const sent = await client.command('chart connections', { channelId: CHANNEL });
  if (sent.status !== 200) throw new Error(`the chart command was answered with HTTP ${sent.status}`);
  await completed;
  const elapsed = performance.now() - started;
  if (slack.uploads.length !== 1) throw new Error(`expected one upload, got ${slack.uploads.length}`);
  return elapsed;
}

function renderInFreshProcess(): Promise<RenderRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', RENDER_SCRIPT, RENDER_STAGES.join(',')], { cwd: fileURLToPath(new URL('..', import.meta.url)) }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the render process failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as RenderRun);
    });
  });
}

/** 30 days at 1m with ten tables a sample, as the sampler writes them: bytes raw, then downsampled. */
async function historySize(harness: Harness): Promise<{ rows: number; bytes: number; rawBytes: number }> {
  const name = 'recipedb_ops_history_size_bench';
  await ensureDatabase(harness.adminUrl, name);
  const pool = createPool({ url: databaseUrl(harness.adminUrl, name), connectMs: 3000, statementMs: 300_000, searchPath: STATE_SCHEMA });
  try {
    const { migrate } = await import('../src/state/migrate.js');
    await migrate(pool);
    await pool.query('TRUNCATE history_samples');
    const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    await seedThirtyDaysAtOneMinute(pool, now);
    const size = async () => Number((await pool.query<{ b: string }>(`SELECT pg_total_relation_size('history_samples') AS b`)).rows[0]?.b);
    const rawBytes = await size();
    await downsampleHistory(pool, { now, retentionMs: 30 * DAY_MS });
    await pool.query('VACUUM FULL history_samples');
    const rows = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM history_samples')).rows[0]?.n);
    return { rows, bytes: await size(), rawBytes };
  } finally {
    await pool.end();
  }
}
