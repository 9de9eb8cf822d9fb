/**
 * `pitr`: on the same generated Recipe Database of at least 500 MB, the way back from a mistake —
 * the bot's `restore --to-time <the moment before it>` (pgBackRest, point-in-time) against its
 * dump restore of the last backup (SPEC section 5) — in time and in data lost.
 *
 * The story, on a private PostgreSQL that archives its WAL with pgBackRest (test/support/local-pitr.ts):
 * a full base backup and a dump backup are taken; then the application writes for a while (rows
 * after the last dump); at a moment M someone deletes every review; the application writes a few
 * more rows. Then each side brings the database back as far as it can: the point-in-time restore
 * to M, the dump restore to the dump. Both run as the bot runs them once approved (the handler's
 * plan, then the procedure), with the application and the database scaled on the fake Kubernetes
 * API and the restore of the data directory run by the init container's script.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLine } from '../src/bot/command-line.js';
import { loadConfig } from '../src/config.js';
import { parseDuration } from '../src/duration.js';
import type { ExecutionContext, GatedResult } from '../src/handlers/gated.js';
import type { ProcedureReport } from '../src/handlers/procedure-runner.js';
import { pitrRestoreAction } from '../src/handlers/pitr-restore.js';
import type { PitrRestorePlan } from '../src/handlers/pitr-restore-plan.js';
import { restoreAction, restoreHandler } from '../src/handlers/restore.js';
import type { RestorePlan } from '../src/handlers/restore-plan.js';
import { createLogger } from '../src/logger.js';
import { takeBackup } from '../src/ops/backup/take-backup.js';
import { takePitrBackup } from '../src/ops/pitr/pitr-backup.js';
import { databaseUrl, ensureDatabase, withConnection } from '../src/ops/postgres/databases.js';
import { openServices, type OpenServices } from '../src/services.js';
import { backupRecordStore } from '../src/state/backup-records.js';
import { startFakeKube, type FakeKube } from '../test/support/fake-kube.js';
import { startPitrPostgres, type PitrPostgres } from '../test/support/local-pitr.js';
import { createSectionDatabase } from './big-database.js';
import type { BenchContext, Figure, SectionResult } from './section.js';

const STATE_DATABASE = 'recipe_bench_pitr_state';
/** How long the application writes after the last dump, before the mistake. */
const WORK_MS = 30_000;
const WORK_BATCH = 20;
const WORK_EVERY_MS = 200;
const MB = 1e6;

interface State {
  reviews: number;
  workRows: number;
  lateRows: number;
  /** The newest work row's commit time: how close to the moment the database came back. */
  newestWork: Date | null;
}

export async function pitrSection({ harness, say }: BenchContext): Promise<SectionResult> {
  const work = await mkdtemp(path.join(harness.root, 'pitr-bench-'));
  let cluster: PitrPostgres | undefined;
  let kube: FakeKube | undefined;
  let services: OpenServices | undefined;
  try {
    say('pitr: starting a PostgreSQL that archives its WAL with pgBackRest…');
    cluster = await startPitrPostgres({ compressType: 'lz4' });
    await cluster.pgbackrest.run(['stanza-create']);
    kube = await startFakeKube({ extraRbacFiles: ['deploy/database/rbac-recipedb-ops.yaml'] });
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 2 });
    kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1 });
    cluster.bindToDeployment(kube, 'recipe-database', 'recipe-database');

    say('pitr: generating a Recipe Database of at least 500 MB (its WAL archived as it is written)…');
    const big = await createSectionDatabase(cluster.url(), 'pitr', say);

    await ensureDatabase(harness.adminUrl, STATE_DATABASE);
    const backupDir = path.join(work, 'backups');
    await mkdir(backupDir);
    const config = loadConfig({
      DATABASE_URL: big.url,
      STATE_DATABASE_URL: databaseUrl(harness.adminUrl, STATE_DATABASE),
      KUBECONFIG: kube.kubeconfigPath,
      BACKUP_DIR: backupDir,
      BACKUP_SCHEDULE: 'off',
      APPROVERS: 'U_APPROVER',
      PGBACKREST_STANZA: cluster.stanza,
      PGBACKREST_CONFIG: cluster.configFile,
      DB_STATEMENT_TIMEOUT: '60s',
      LOG_LEVEL: 'info',
    });
    const logStream = createWriteStream(path.join(work, 'bot.log'));
    const log = createLogger({ level: 'info', secrets: config.secrets, destination: logStream, pretty: false });
    services = await openServices(config, log, { databaseUrl: big.url, stateDatabaseUrl: databaseUrl(harness.adminUrl, STATE_DATABASE) }, { pitr: cluster.services });

    say('pitr: full base backup (pgBackRest)…');
    const base = await takePitrBackup(cluster.pgbackrest, { type: 'full' });
    say(`pitr: base backup ${base.backup.label} in ${(base.tookMs / 1000).toFixed(1)} s (${(base.backup.repoSizeBytes / MB).toFixed(0)} MB stored).`);
    say('pitr: dump backup (the bot\'s backup)…');
    const dump = await takeBackup({ state: services.state, records: backupRecordStore(services.state), databaseUrl: big.url, dir: backupDir, retentionDays: 30, verifyTables: config.verifyTables, requestedBy: 'bench', instance: services.instance });
    say(`pitr: dump ${dump.backup.name} in ${(dump.backup.durationMs / 1000).toFixed(1)} s (${(dump.backup.sizeBytes / MB).toFixed(0)} MB).`);

    say(`pitr: the application writes for ${WORK_MS / 1000} s after the dump…`);
    await applicationWrites(big.url, 'bench-work', WORK_MS);
    const beforeMistake = await readState(big.url);
    const moment = await serverTime(big.url);
    await withConnection(big.url, (client) => client.query('DELETE FROM recipe_manager.reviews'));
    await applicationWrites(big.url, 'bench-late', 1_000);
    say(`pitr: ${beforeMistake.workRows} rows written after the dump; at ${moment} every review (${beforeMistake.reviews}) was deleted.`);

    const ctx = (requestId: string): ExecutionContext => ({ ...(services as OpenServices), progress: async () => undefined, requestId, requester: 'U_REQUESTER', approver: 'U_APPROVER' });
    const plan = async <Plan>(text: string): Promise<Plan> => {
      const line = parseCommandLine(text);
      const result = (await restoreHandler.run(restoreHandler.args.parse(line.args), {
        ...(services as OpenServices),
        actor: { userId: 'U_REQUESTER', channelId: 'C_BENCH' },
        commands: [],
        progress: async () => undefined,
      })) as GatedResult<Plan>;
      if (result.kind !== 'planned') throw new Error(`${text}: nothing to do`);
      return result.plan;
    };

    say(`pitr: restore --to-time ${moment} (point-in-time, the bot's procedure)…`);
    const pitrStarted = performance.now();
    const pitrOutcome = await pitrRestoreAction.execute(await plan<PitrRestorePlan>(`restore --to-time ${moment}`), ctx('apr_benchpitr'));
    const pitrMs = performance.now() - pitrStarted;
    if (!pitrOutcome.ok || !pitrOutcome.report) throw new Error(`the point-in-time restore failed: ${pitrOutcome.summary}`);
    const afterPitr = await readState(big.url);
    const pitrCore = stepMs(pitrOutcome.report, /^restore the data directory/) + stepMs(pitrOutcome.report, /^scale recipe-database\/recipe-database 0 → /);
    say(`pitr: point-in-time restore done in ${(pitrMs / 1000).toFixed(1)} s: ${afterPitr.reviews} reviews, ${afterPitr.workRows} of ${beforeMistake.workRows} work rows, ${afterPitr.lateRows} late rows.`);

    say(`pitr: restore ${dump.backup.name} (the dump, the bot's procedure with its safety backup)…`);
    const dumpStarted = performance.now();
    const dumpOutcome = await restoreAction.execute(await plan<RestorePlan>(`restore ${dump.backup.name}`), ctx('apr_benchdump'));
    const dumpMs = performance.now() - dumpStarted;
    if (!dumpOutcome.ok) throw new Error(`the dump restore failed: ${dumpOutcome.summary}`);
    const afterDump = await readState(big.url);
    const dumpCore = lineMs(dumpOutcome.lines, /^4\. restore /);
    say(`pitr: dump restore done in ${(dumpMs / 1000).toFixed(1)} s: ${afterDump.reviews} reviews, ${afterDump.workRows} of ${beforeMistake.workRows} work rows.`);

    const lostRows = (s: State): number => Math.max(0, beforeMistake.reviews - s.reviews) + Math.max(0, beforeMistake.workRows - s.workRows);
    const momentMs = Date.parse(moment);
    const timeLost = (s: State): number => (s.newestWork ? Math.max(0, momentMs - s.newestWork.getTime()) : momentMs - dump.backup.startedAt.getTime());
    const faster = (pitr: number, dumped: number, reads = 'faster (dump/PITR)') => ({ value: dumped / pitr, reads });
    const figures: Figure[] = [
      { name: 'restore, whole procedure (approved → app back)', unit: 'ms', bot: pitrMs, baseline: dumpMs, ratio: faster(pitrMs, dumpMs) },
      { name: 'restore step alone (PITR: restore + recovery)', unit: 'ms', bot: pitrCore, baseline: dumpCore, ratio: faster(pitrCore, dumpCore) },
      { name: 'rows lost (written before the mistake)', unit: 'rows', bot: lostRows(afterPitr), baseline: lostRows(afterDump), ratio: null },
      { name: 'time lost (moment → newest row kept)', unit: 'ms', bot: timeLost(afterPitr), baseline: timeLost(afterDump), ratio: null },
      { name: 'backup: pgBackRest full vs dump', unit: 'ms', bot: base.tookMs, baseline: dump.backup.durationMs, ratio: faster(base.tookMs, dump.backup.durationMs, 'faster (dump/pgBackRest)') },
      { name: 'backup stored: pgBackRest (lz4) vs dump (gzip)', unit: 'MB', bot: base.backup.repoSizeBytes / MB, baseline: dump.backup.sizeBytes / MB, ratio: null },
    ];
    const notes = [
      `database ${(big.sizeBytes / MB).toFixed(0)} MB (${big.rows.recipes.toLocaleString('en-US')} recipes); ${beforeMistake.workRows} rows written in the ${WORK_MS / 1000} s after the last dump, then every review (${beforeMistake.reviews.toLocaleString('en-US')}) deleted`,
      `PITR: back to ${moment}: ${afterPitr.reviews.toLocaleString('en-US')} reviews, ${afterPitr.workRows}/${beforeMistake.workRows} work rows, ${afterPitr.lateRows} rows from after the mistake; on timeline ${/timeline (\d+)/.exec(pitrOutcome.summary)?.[1] ?? '?'}`,
      `dump: back to the dump of ${dump.backup.startedAt.toISOString()}: ${afterDump.reviews.toLocaleString('en-US')} reviews, ${afterDump.workRows}/${beforeMistake.workRows} work rows; its procedure includes a safety dump of the current database (${(lineMs(dumpOutcome.lines, /^3\. safety backup/) / 1000).toFixed(1)} s)`,
      `PITR steps: ${pitrOutcome.report.steps.filter((s) => s.number !== undefined).map((s) => `${s.number}. ${(s.ms / 1000).toFixed(1)} s`).join(', ')}`,
      'one run each on a shared 2-core machine, not durable (fsync off) on both sides; the pgBackRest repository is a local folder (S3 in the cluster)',
    ];
    return {
      title: 'restore to the moment before a mistake: point-in-time (pgBackRest) against the last dump',
      baseline: "the bot's dump restore of the newest backup (SPEC section 5), on the same database",
      figures,
      notes,
      details: { databaseBytes: big.sizeBytes, moment, beforeMistake, afterPitr, afterDump, pitrMs, dumpMs, pitrCore, dumpCore, pitrSteps: pitrOutcome.report.steps, dumpLines: dumpOutcome.lines },
    };
  } finally {
    await services?.close().catch(() => undefined);
    await kube?.close().catch(() => undefined);
    await cluster?.cleanup().catch(() => undefined);
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The application at work: small batches of new users, each committed with its own time. */
async function applicationWrites(url: string, prefix: string, ms: number): Promise<void> {
  await withConnection(url, async (client) => {
    const until = performance.now() + ms;
    for (let batch = 0; performance.now() < until; batch++) {
      await client.query(
        `INSERT INTO recipe_manager.users (username, email, display_name, created_at)
         SELECT $1 || '-' || $2::int || '-' || g, $1 || '-' || $2::int || '-' || g || '@example.com', 'Bench', clock_timestamp()
           FROM generate_series(1, $3::int) g`,
        [prefix, batch, WORK_BATCH],
      );
      await new Promise((resolve) => setTimeout(resolve, WORK_EVERY_MS));
    }
  });
}

async function readState(url: string): Promise<State> {
  return withConnection(url, async (client) => {
    const { rows } = await client.query<{ reviews: string; work: string; late: string; newest: Date | null }>(
      `SELECT (SELECT count(*) FROM recipe_manager.reviews) AS reviews,
              (SELECT count(*) FROM recipe_manager.users WHERE username LIKE 'bench-work-%') AS work,
              (SELECT count(*) FROM recipe_manager.users WHERE username LIKE 'bench-late-%') AS late,
              (SELECT max(created_at) FROM recipe_manager.users WHERE username LIKE 'bench-work-%') AS newest`,
    );
    const row = rows[0];
    return { reviews: Number(row?.reviews), workRows: Number(row?.work), lateRows: Number(row?.late), newestWork: row?.newest ?? null };
  });
}

async function serverTime(url: string): Promise<string> {
  return withConnection(url, async (client) => {
    const { rows } = await client.query<{ now: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' AS now`);
    return rows[0]?.now ?? '';
  });
}

function stepMs(report: ProcedureReport, title: RegExp): number {
  return report.steps.find((s) => s.number !== undefined && title.test(s.title))?.ms ?? Number.NaN;
}

/** The dump restore reports lines ("4. restore x — ok (41.2s)"); its duration, in ms. */
function lineMs(lines: readonly string[], head: RegExp): number {
  const took = /— ok \(([^)]+)\)/.exec(lines.find((l) => head.test(l)) ?? '')?.[1] ?? '';
  const seconds = /^(\d+\.\d+)s$/.exec(took);
  return seconds ? Number(seconds[1]) * 1000 : (parseDuration(took.replace(/\s+/g, '')) ?? Number.NaN);
}

