/**
 * `backup`: on a generated Recipe Database of at least 500 MB, the bot's `/recipedb backup` (the
 * real bot as a process of its own, so that its memory is its alone) against the runbook's
 * `pg_dump --clean --if-exists | gzip > file`, alternating in one run; the bot's peak memory there
 * and on the small demo database; and the bot's restore primitive against `zcat file | psql`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabase, databaseUrl, withConnection } from '../src/ops/postgres/databases.js';
import { BIG_DATABASE, createSectionDatabase, MIN_BIG_DATABASE_BYTES, type BigDatabase } from './big-database.js';
import {
  baselineBackup,
  baselineRestore,
  botBackup,
  botRestore,
  dropDatabase,
  freshDatabase,
  gunzippedBytes,
  rowCount,
  type BaselineBackup,
  type BotBackup,
} from './backup-runs.js';
import { startBotProcess, type BotProcess } from './bot-process.js';
import type { Harness } from './harness.js';
import { readMemory, sampleMemory, type MemoryReading, type MemorySample } from './process-memory.js';
import type { BenchContext, Figure, SectionResult } from './section.js';
import { percentile } from './stats.js';

const STATE_DATABASE = 'recipe_bench_state';
const RESTORE_DATABASE = 'recipe_bench_restore';
/** Odd, so that the median is a real run; sides alternate which goes first. */
const BACKUP_ROUNDS = 3;
const RESTORE_ROUNDS = 3;
const TIME_TARGET = 1.1;
const MEMORY_TARGET_MB = 150;
/** "Not growing": the big database's peak within this factor of the demo database's. */
const GROWTH_TOLERANCE = 1.1;
const SAMPLE_INTERVAL_MS = 100;
const CHANNEL = 'C_BENCH_BACKUP';
const MB = 1e6;

export async function backupSection({ harness, say }: BenchContext): Promise<SectionResult> {
  const work = await mkdtemp(path.join(harness.root, 'backup-bench-'));
  const loadAtStart = os.loadavg()[0] ?? Number.NaN;
  try {
    say('backup: generating a Recipe Database of at least 500 MB…');
    const big = await createSectionDatabase(harness.adminUrl, 'backup', say);
    await ensureDatabase(harness.adminUrl, STATE_DATABASE);
    const stateDatabaseUrl = databaseUrl(harness.adminUrl, STATE_DATABASE);

    say(`backup: the bot process backing up the demo database ${BACKUP_ROUNDS} times (memory reference)…`);
    const demoBytes = await databaseSize(harness.databaseUrl);
    const demo = await withBotProcess(harness, { databaseUrl: harness.databaseUrl, stateDatabaseUrl, work, label: 'demo' }, async (bot, dir, mark) => {
      const runs: BotBackup[] = [];
      for (let i = 0; i < BACKUP_ROUNDS; i++) {
        mark(`backup ${i + 1}`);
        runs.push(await botBackup(bot, harness.slack, dir, CHANNEL));
        // Backup names have a one-second resolution.
        await new Promise((resolve) => setTimeout(resolve, 1_100));
      }
      return runs;
    });

    const baselineDir = path.join(work, 'baseline');
    await mkdir(baselineDir);
    const baselineRuns: BaselineBackup[] = [];
    const bigRun = await withBotProcess(harness, { databaseUrl: big.url, stateDatabaseUrl, work, label: 'big' }, async (bot, dir, mark) => {
      const botRuns: BotBackup[] = [];
      for (let round = 0; round < BACKUP_ROUNDS; round++) {
        const sides = round % 2 === 0 ? (['baseline', 'bot'] as const) : (['bot', 'baseline'] as const);
        for (const side of sides) {
          say(`backup: round ${round + 1}/${BACKUP_ROUNDS}, ${side === 'bot' ? "the bot's /recipedb backup" : 'pg_dump | gzip'}…`);
          if (side === 'bot') {
            mark(`bot backup ${round + 1}`);
            botRuns.push(await botBackup(bot, harness.slack, dir, CHANNEL));
          } else {
            mark(`baseline ${round + 1}`);
            baselineRuns.push(await baselineBackup(harness.clientBinDir, big.url, path.join(baselineDir, `run-${round + 1}.sql.gz`)));
          }
        }
      }
      return botRuns;
    });
    const botRuns = bigRun.value;
    const baselineDumpBytes = await gunzippedBytes(path.join(baselineDir, 'run-1.sql.gz'));

    const restoreFile = (botRuns[0] as BotBackup).path;
    const restores = await measureRestores(harness, big, restoreFile, say);

    return result({ big, demoBytes, demo, bigRun, botRuns, baselineRuns, baselineDumpBytes, restores, loadAtStart });
  } finally {
    // Frees the disk at once; should it fail (the server already stopping after Ctrl-C), the
    // harness removes the whole cluster anyway.
    const left: string[] = [];
    for (const name of [RESTORE_DATABASE, BIG_DATABASE, STATE_DATABASE]) {
      await dropDatabase(harness.adminUrl, name).catch(() => left.push(name));
    }
    if (left.length > 0) say(`backup: could not drop ${left.join(', ')}; they go with the benchmark's cluster.`);
    await rm(work, { recursive: true, force: true });
  }
}

interface BotMemory {
  /** Right after start-up, before any command. */
  idle: MemoryReading;
  /** At the end: hwmKb is the peak over the process's whole life. */
  last: MemoryReading;
  samples: MemorySample[];
  marks: { label: string; ms: number }[];
}

interface WithBot<T> {
  value: T;
  memory: BotMemory;
}

async function withBotProcess<T>(
  harness: Harness,
  o: { databaseUrl: string; stateDatabaseUrl: string; work: string; label: string },
  run: (bot: BotProcess, backupDir: string, mark: (label: string) => void) => Promise<T>,
): Promise<WithBot<T>> {
  const dir = path.join(o.work, `bot-${o.label}`);
  const bot = await startBotProcess({
    databaseUrl: o.databaseUrl,
    stateDatabaseUrl: o.stateDatabaseUrl,
    backupDir: dir,
    logFile: path.join(o.work, `bot-${o.label}.log`),
    slack: harness.slack,
  });
  try {
    const idle = await readMemory(bot.pid);
    const sampler = sampleMemory(bot.pid, SAMPLE_INTERVAL_MS);
    const value = await run(bot, dir, (label) => sampler.mark(label));
    const { samples, marks, last } = await sampler.stop();
    return { value, memory: { idle, last, samples, marks } };
  } finally {
    await bot.stop();
  }
}

interface Restores {
  botMs: number[];
  baselineMs: number[];
}

async function measureRestores(harness: Harness, big: BigDatabase, file: string, say: (line: string) => void): Promise<Restores> {
  const target = databaseUrl(harness.adminUrl, RESTORE_DATABASE);
  const restores: Restores = { botMs: [], baselineMs: [] };
  for (let round = 0; round < RESTORE_ROUNDS; round++) {
    const sides = round % 2 === 0 ? (['baseline', 'bot'] as const) : (['bot', 'baseline'] as const);
    for (const side of sides) {
      say(`backup: restore round ${round + 1}/${RESTORE_ROUNDS}, ${side === 'bot' ? 'restoreBackup' : 'zcat | psql'} into a fresh database…`);
      await freshDatabase(harness.adminUrl, RESTORE_DATABASE);
      if (side === 'bot') restores.botMs.push(await botRestore(target, file));
      else restores.baselineMs.push(await baselineRestore(harness.clientBinDir, target, file));
      const recipes = await rowCount(target, 'recipes');
      if (recipes !== big.rows.recipes) throw new Error(`${side} restore: ${recipes} recipes, expected ${big.rows.recipes}`);
    }
  }
  await dropDatabase(harness.adminUrl, RESTORE_DATABASE);
  return restores;
}

async function databaseSize(url: string): Promise<number> {
  return withConnection(url, async (client) => {
    const { rows } = await client.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
    return Number(rows[0]?.size);
  });
}

// ---------------------------------------------------------------------------------------------
// The figures

interface Measured {
  big: BigDatabase;
  demoBytes: number;
  demo: WithBot<BotBackup[]>;
  bigRun: WithBot<BotBackup[]>;
  botRuns: BotBackup[];
  baselineRuns: BaselineBackup[];
  baselineDumpBytes: number;
  restores: Restores;
  /** 1-minute load average when the section started: other jobs on the machine widen the spread. */
  loadAtStart: number;
}

const median = (xs: readonly number[]): number => percentile(xs, 50);
const mb = (kb: number): number => (kb * 1024) / MB;

function result(m: Measured): SectionResult {
  const botMs = median(m.botRuns.map((r) => r.ms));
  const baseMs = median(m.baselineRuns.map((r) => r.ms));
  const botDumpMs = median(m.botRuns.map((r) => r.dumpMs));
  const botFile = median(m.botRuns.map((r) => r.fileBytes)) / MB;
  const baseFile = median(m.baselineRuns.map((r) => r.fileBytes)) / MB;
  const botDump = median(m.botRuns.map((r) => r.dumpBytes)) / MB;
  const baseDump = m.baselineDumpBytes / MB;
  const bigPeak = mb(m.bigRun.memory.last.hwmKb);
  const demoPeak = mb(m.demo.memory.last.hwmKb);
  const rise = (w: WithBot<unknown>): number => mb(Math.max(w.memory.idle.rssKb, ...w.memory.samples.map((s) => s.rssKb)) - w.memory.idle.rssKb);
  const restoreBot = median(m.restores.botMs);
  const restoreBase = median(m.restores.baselineMs);
  const sizeMb = m.big.sizeBytes / MB;
  const bigLabel = `${sizeMb.toFixed(0)} MB DB`;
  const demoLabel = `${(m.demoBytes / MB).toFixed(0)} MB demo DB`;
  const bb = (value: number): Figure['ratio'] => ({ value, reads: 'bot/baseline' });

  const figures: Figure[] = [
    { name: 'generated database size', unit: 'MB', bot: sizeMb, baseline: null, ratio: null, target: { text: '≥ 500 MB', met: m.big.sizeBytes >= MIN_BIG_DATABASE_BYTES } },
    { name: 'generation time (extra)', unit: 'ms', bot: m.big.generationMs, baseline: null, ratio: null },
    {
      name: `backup time, median of ${BACKUP_ROUNDS}`,
      unit: 'ms',
      bot: botMs,
      baseline: baseMs,
      ratio: bb(botMs / baseMs),
      target: { text: `within 10% (≤ ${TIME_TARGET.toFixed(2)}×)`, met: botMs / baseMs <= TIME_TARGET },
    },
    { name: 'backup dump phase only (extra)', unit: 'ms', bot: botDumpMs, baseline: baseMs, ratio: bb(botDumpMs / baseMs) },
    { name: 'backup file size', unit: 'MB', bot: botFile, baseline: baseFile, ratio: bb(botFile / baseFile) },
    { name: 'SQL dumped (extra)', unit: 'MB', bot: botDump, baseline: baseDump, ratio: null },
    { name: 'throughput (SQL MB/s)', unit: 'MB/s', bot: botDump / (botMs / 1000), baseline: baseDump / (baseMs / 1000), ratio: bb(botDump / botMs / (baseDump / baseMs)) },
    {
      name: `bot peak RSS, ${bigLabel}`,
      unit: 'MB',
      bot: bigPeak,
      baseline: null,
      ratio: { value: bigPeak / demoPeak, reads: '× demo DB peak' },
      target: {
        text: `< ${MEMORY_TARGET_MB} MB, not growing (≤ ${GROWTH_TOLERANCE.toFixed(1)}× demo)`,
        met: bigPeak < MEMORY_TARGET_MB && bigPeak <= demoPeak * GROWTH_TOLERANCE,
      },
    },
    { name: `bot peak RSS, ${demoLabel}`, unit: 'MB', bot: demoPeak, baseline: null, ratio: null, target: { text: `< ${MEMORY_TARGET_MB} MB`, met: demoPeak < MEMORY_TARGET_MB } },
    { name: 'bot RSS at rest, before any command (extra)', unit: 'MB', bot: mb(m.bigRun.memory.idle.rssKb), baseline: null, ratio: null },
    { name: `bot RSS rise in backups, ${bigLabel} (extra)`, unit: 'MB', bot: rise(m.bigRun), baseline: null, ratio: null },
    { name: `bot RSS rise in backups, demo DB (extra)`, unit: 'MB', bot: rise(m.demo), baseline: null, ratio: null },
    {
      name: `restore time, median of ${RESTORE_ROUNDS}`,
      unit: 'ms',
      bot: restoreBot,
      baseline: restoreBase,
      ratio: bb(restoreBot / restoreBase),
    },
  ];

  const r = m.big.rows;
  return {
    title: `backup of a generated ${sizeMb.toFixed(0)} MB Recipe Database (${BACKUP_ROUNDS} alternating rounds) and restore`,
    baseline: '`pg_dump --clean --if-exists -d URL | gzip > file` (bash, same pg_dump, gzip -6); restore `zcat file | psql -X -q -v ON_ERROR_STOP=1`',
    figures,
    notes: [
      `Database: ${r.recipes.toLocaleString('en-US')} recipes, ${r.ingredients.toLocaleString('en-US')} ingredients, ${r.reviews.toLocaleString('en-US')} reviews, ${r.users.toLocaleString('en-US')} users; the SQL dump compresses ${(botDump / botFile).toFixed(1)}×.`,
      'Bot: `node dist/main.js` (built by `npm run build`, as deployed) as its own process (HTTP mode, LOG_LEVEL=warn); signed /recipedb backup → the chat.update naming the file. Its time includes the ack, progress posts, the gzip check while writing, fsync, the SHA-256 read-back, row counts, sidecar and retention; "dump phase" is the sidecar\'s dumpMs.',
      'Both sides compress at level 6 (the bot: Node zlib in runBackup; the baseline: GNU gzip). Memory: VmHWM (peak RSS over the whole life, start-up included) of the node process running dist/main.js; pg_dump, a child, is not counted on either side.',
      `Load average at the start ${m.loadAtStart.toFixed(1)} on ${os.cpus().length} CPUs; backups per side: bot ${range(m.botRuns.map((x) => x.ms))}, baseline ${range(m.baselineRuns.map((x) => x.ms))}.`,
      `Restore: the bot's restoreBackup in the bench process (psql --single-transaction, the file streamed through gunzip), not the gated \`restore\` command (approvals, Kubernetes); into a fresh empty database each time, from the bot's first backup file; ${RESTORE_ROUNDS} alternating rounds.`,
    ],
    details: {
      database: { sizeBytes: m.big.sizeBytes, generationMs: Math.round(m.big.generationMs), rows: r, demoSizeBytes: m.demoBytes },
      bot: m.botRuns,
      baseline: m.baselineRuns,
      baselineDumpBytes: m.baselineDumpBytes,
      demoBot: m.demo.value,
      memory: { big: memoryDetails(m.bigRun.memory), demo: memoryDetails(m.demo.memory) },
      restore: m.restores,
      loadAverageAtStart: m.loadAtStart,
    },
  };
}

const range = (xs: readonly number[]): string => `${(Math.min(...xs) / 1000).toFixed(1)}–${(Math.max(...xs) / 1000).toFixed(1)} s`;

/** The RSS curve at one point per second (the highest sample of each second), in MB. */
function memoryDetails(memory: BotMemory): Record<string, unknown> {
  const perSecond = new Map<number, number>();
  for (const s of memory.samples) {
    const second = Math.floor(s.ms / 1000);
    perSecond.set(second, Math.max(perSecond.get(second) ?? 0, s.rssKb));
  }
  return {
    idleRssMb: mb(memory.idle.rssKb),
    startupPeakMb: mb(memory.idle.hwmKb),
    peakMb: mb(memory.last.hwmKb),
    marks: memory.marks,
    rssCurveMbPerSecond: [...perSecond.entries()].map(([second, kb]) => [second, Number(mb(kb).toFixed(1))]),
  };
}
