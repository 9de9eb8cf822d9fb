/**
 * `saturated` (SPEC section 8): `status` and `active` answered while every connection slot a
 * non-superuser may use is taken and the CPU is busy (pgbench, unthrottled), against `psql` in the
 * same conditions: as the same least-privilege role (which the server refuses), and as a superuser
 * through the slots kept for superusers (the only way psql gets in: the latency baseline).
 *
 * A private cluster with a small max_connections; the bot, as deployed, is a role with pg_monitor
 * and pg_signal_backend, its state database on the harness's server.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { renderBlocks } from '../src/bot/blocks-to-text.js';
import type { DraftMessage } from '../src/bot/blocks.js';
import { startSlackApp } from '../src/bot/slack-app.js';
import { loadConfig } from '../src/config.js';
import { createDemoDatabase } from '../src/dev/demo-database.js';
import { handOverToServerAccount, startLocalPostgres, type LocalPostgres } from '../src/dev/local-postgres.js';
import { createLogger } from '../src/logger.js';
import { databaseUrl, ensureDatabase } from '../src/ops/postgres/databases.js';
import { openServices } from '../src/services.js';
import { slackClient } from '../test/support/slack-client.js';
import type { Harness } from './harness.js';
import { initPgbench, pgbenchConnection, startPgbench } from './pgbench.js';
import { PSQL_CHECKS, runPsqlChecks, withoutLibpqVariables } from './psql-checks.js';
import type { BenchContext, SectionResult } from './section.js';
import { summarize } from './stats.js';

const MAX_CONNECTIONS = 30;
const SUPERUSER_RESERVED = 3;
const PGBENCH_CLIENTS = 12;
const ROUNDS = 20;
const POST_TIMEOUT_MS = 20_000;
const PSQL_TIMEOUT_MS = 20_000;
const BOT_ROLE = 'recipedb_ops';
const APP_ROLE = 'recipe_app';
const OPERATED = 'recipe_database';
const LOAD = 'pgbench_saturated';
/** What psql is asked for `active`'s baseline (`status`'s is the status bench's own checks). */
const PSQL_QUESTION = `SELECT pid, usename, now() - query_start, state, wait_event_type, left(query, 80) FROM pg_stat_activity WHERE state <> 'idle' AND datname = current_database()`;

interface Attempt {
  ok: boolean;
  ms: number;
}

export async function saturatedSection({ harness, say }: BenchContext): Promise<SectionResult> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'recipedb-bench-saturated-'));
  const undo: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true })];
  try {
    await handOverToServerAccount(root);
    say(`saturated: a private PostgreSQL with max_connections ${MAX_CONNECTIONS}…`);
    const server = await startLocalPostgres({
      dataDir: path.join(root, 'pg'),
      durable: false,
      settings: { max_connections: String(MAX_CONNECTIONS), superuser_reserved_connections: String(SUPERUSER_RESERVED) },
    });
    undo.push(() => server.stop());
    await createDemoDatabase(server.url(), OPERATED, { recipes: 2000, users: 200 });
    await prepareRoles(server);
    await ensureDatabase(server.url(), LOAD);
    await initPgbench(harness.clientBinDir, pgbenchConnection(server), LOAD, 2);

    say('saturated: starting a bot connected as a least-privilege role…');
    const bot = await startBot(harness, server, root);
    undo.push(() => bot.stop());

    say(`saturated: pgbench with ${PGBENCH_CLIENTS} unthrottled clients, then idle sessions until the server refuses one…`);
    const load = await startPgbench(harness.clientBinDir, ['-c', String(PGBENCH_CLIENTS), '-j', '2', '-T', '900', ...pgbenchConnection(server), LOAD], { settleMs: 1_000 });
    undo.push(() => load.stop());
    const fillers = await fillEverySlot(roleUrl(server, APP_ROLE, OPERATED));
    undo.push(() => Promise.all(fillers.map((c) => c.end().catch(() => undefined))));
    say(`saturated: ${fillers.length} idle sessions took the last slots; ${MAX_CONNECTIONS - SUPERUSER_RESERVED} of ${MAX_CONNECTIONS} in use`);

    const attempts = { botStatus: [] as Attempt[], botActive: [] as Attempt[], psqlRole: [] as Attempt[], psqlSuperuser: [] as Attempt[], psqlStatusSuperuser: [] as Attempt[] };
    const psql = (url: string): Promise<Attempt> => timedPsql(harness.clientBinDir, url);
    say(`saturated: ${ROUNDS} rounds of status, active and psql (as the same role, and as a superuser)…`);
    for (let i = 0; i < ROUNDS; i++) {
      attempts.botStatus.push(await botCommand(harness, bot.client, 'status', 'PostgreSQL: up'));
      attempts.psqlRole.push(await psql(roleUrl(server, BOT_ROLE, OPERATED)));
      attempts.botActive.push(await botCommand(harness, bot.client, 'active', 'Active queries'));
      attempts.psqlSuperuser.push(await psql(databaseUrl(server.url(), OPERATED)));
      attempts.psqlStatusSuperuser.push(await timedChecks(harness.clientBinDir, databaseUrl(server.url(), OPERATED)));
    }

    const rate = (a: Attempt[]): number => (100 * a.filter((x) => x.ok).length) / a.length;
    const okMs = (a: Attempt[]): number[] => a.filter((x) => x.ok).map((x) => x.ms);
    const status = summarize(okMs(attempts.botStatus));
    const active = summarize(okMs(attempts.botActive));
    const superuser = summarize(okMs(attempts.psqlSuperuser));
    const superuserStatus = summarize(okMs(attempts.psqlStatusSuperuser));
    const role = summarize(attempts.psqlRole.map((x) => x.ms));
    return {
      title: `commands answered with every slot taken and the CPU busy (${ROUNDS} rounds)`,
      baseline: `psql as the same role (refused: no slot), and psql as a superuser through the ${SUPERUSER_RESERVED} slots kept for superusers`,
      figures: [
        { name: 'status answered', unit: '%', bot: rate(attempts.botStatus), baseline: rate(attempts.psqlRole), ratio: null, target: { text: 'every status answered', met: rate(attempts.botStatus) === 100 } },
        { name: 'active answered', unit: '%', bot: rate(attempts.botActive), baseline: rate(attempts.psqlRole), ratio: null, target: { text: 'every active answered', met: rate(attempts.botActive) === 100 } },
        { name: 'status median (vs superuser psql checks)', unit: 'ms', bot: status.p50, baseline: superuserStatus.p50, ratio: { value: superuserStatus.p50 / status.p50, reads: 'faster (psql/bot)' } },
        { name: 'active median (vs superuser psql)', unit: 'ms', bot: active.p50, baseline: superuser.p50, ratio: { value: superuser.p50 / active.p50, reads: 'faster (psql/bot)' } },
        { name: 'psql as the same role: time to refusal (extra)', unit: 'ms', bot: role.p50, baseline: null, ratio: null },
      ],
      notes: [
        `max_connections ${MAX_CONNECTIONS} (${SUPERUSER_RESERVED} for superusers); pgbench -c ${PGBENCH_CLIENTS} unthrottled + ${fillers.length} idle sessions; the bot's pool cannot connect, its reserved session answers.`,
        `Bot: signed /recipedb status (or active) → answer posted at the fake Slack. psql for status: the ${PSQL_CHECKS.length} checks of the status bench, one process each; for active: \`${PSQL_QUESTION.slice(0, 60)}…\`.`,
        'The bot is not a superuser, as deployed (README): psql as that role gets "too many clients already"; a superuser psql is what the runbook would fall back to.',
      ],
      details: { rounds: ROUNDS, maxConnections: MAX_CONNECTIONS, fillers: fillers.length, pgbenchClients: PGBENCH_CLIENTS, botStatus: status, botActive: active, psqlSuperuser: superuser, psqlStatusSuperuser: superuserStatus, psqlRole: role, successPercent: {
        botStatus: rate(attempts.botStatus), botActive: rate(attempts.botActive), psqlRole: rate(attempts.psqlRole), psqlSuperuser: rate(attempts.psqlSuperuser),
      } },
    };
  } finally {
    for (const step of undo.reverse()) await step().catch((error: unknown) => say(`saturated cleanup: ${String(error)}`));
  }
}

function roleUrl(server: LocalPostgres, role: string, database: string): string {
  const url = new URL(databaseUrl(server.url(), database));
  url.username = role;
  url.password = '';
  return url.toString();
}

async function prepareRoles(server: LocalPostgres): Promise<void> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    await client.query(`CREATE ROLE ${BOT_ROLE} LOGIN; GRANT pg_monitor, pg_signal_backend TO ${BOT_ROLE}; CREATE ROLE ${APP_ROLE} LOGIN`);
  } finally {
    await client.end();
  }
}

async function startBot(harness: Harness, server: LocalPostgres, root: string): Promise<{ client: ReturnType<typeof slackClient>; stop(): Promise<void> }> {
  const signingSecret = randomBytes(16).toString('hex');
  const stateDatabase = `recipedb_ops_state_saturated`;
  await ensureDatabase(harness.adminUrl, stateDatabase);
  const config = loadConfig({
    SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: harness.slack.apiUrl,
    PORT: '0',
    DATABASE_URL: roleUrl(server, BOT_ROLE, OPERATED),
    STATE_DATABASE_URL: databaseUrl(harness.adminUrl, stateDatabase),
    BACKUP_DIR: path.join(root, 'backups'),
    BACKUP_SCHEDULE: 'off',
    LOG_LEVEL: 'info',
  });
  const logStream = createWriteStream(path.join(root, 'bot.log'));
  const log = createLogger({ level: config.logLevel, secrets: config.secrets, destination: logStream, pretty: false });
  const services = await openServices(config, log, { databaseUrl: config.databaseUrl as string, stateDatabaseUrl: config.stateDatabaseUrl as string });
  const bot = await startSlackApp(services).catch(async (error: unknown) => {
    await services.close();
    throw error;
  });
  return {
    client: slackClient({ eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret, fakeSlack: harness.slack }),
    async stop() {
      await bot.stop();
      await services.close();
      await new Promise<void>((resolve) => logStream.end(resolve));
    },
  };
}

async function fillEverySlot(url: string): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) {
    const client = new pg.Client({ connectionString: url, application_name: 'recipe-app' });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      if ((error as { code?: string }).code === '53300') return clients;
      throw error;
    }
    clients.push(client);
  }
  throw new Error('the server never refused a connection');
}

let channelSeq = 0;

async function botCommand(harness: Harness, client: ReturnType<typeof slackClient>, command: string, mustSay: string): Promise<Attempt> {
  const channel = `C_SAT${String(++channelSeq).padStart(4, '0')}`;
  const posted = harness.slack.waitFor('chat.postMessage', (call) => call.body.channel === channel, POST_TIMEOUT_MS);
  posted.catch(() => undefined);
  const started = performance.now();
  const sent = await client.command(command, { channelId: channel });
  if (sent.status !== 200) return { ok: false, ms: performance.now() - started };
  try {
    const call = await posted;
    const ms = performance.now() - started;
    const text = renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as DraftMessage['blocks'] }).text;
    return { ok: text.includes(mustSay), ms };
  } catch {
    return { ok: false, ms: performance.now() - started };
  }
}

async function timedChecks(binDir: string, url: string): Promise<Attempt> {
  const started = performance.now();
  const ok = await runPsqlChecks(binDir, url).then(() => true, () => false);
  return { ok, ms: performance.now() - started };
}

function timedPsql(binDir: string, url: string): Promise<Attempt> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(path.join(binDir, 'psql'), ['-X', '-A', '-t', '-d', url, '-c', PSQL_QUESTION], { stdio: 'ignore', env: withoutLibpqVariables() });
    const timer = setTimeout(() => child.kill('SIGKILL'), PSQL_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, ms: performance.now() - started });
    });
  });
}

