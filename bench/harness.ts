/**
 * Everything a benchmark needs, started from nothing and removed afterwards: a private PostgreSQL in
 * a temporary folder (holding the demo Recipe Database and the bot's state database), the fake Slack
 * API, and the real bot in-process on its real HTTP receiver, configured through loadConfig as
 * `npm start` would be.
 *
 *   const harness = await startHarness(say);
 *   try { … harness.client.command('status') … } finally { await harness.close(); }
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openServices, type OpenServices } from '../src/services.js';
import { startSlackApp, type SlackBot } from '../src/bot/slack-app.js';
import { createDemoDatabase } from '../src/dev/demo-database.js';
import { databaseUrl, ensureDatabase } from '../src/ops/postgres/databases.js';
import { handOverToServerAccount, startLocalPostgres, stopOnExit, type LocalPostgres } from '../src/dev/local-postgres.js';
import { clientBinDir } from '../src/ops/pg-bin-dir.js';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.js';
import { slackClient } from '../test/support/slack-client.js';

export const OPERATED_DATABASE = 'recipe_database';
const STATE_DATABASE = 'recipedb_ops_state';

export interface Harness {
  /** The temporary folder holding the cluster, the bot's log and anything a section writes. */
  root: string;
  pg: LocalPostgres;
  adminUrl: string;
  databaseUrl: string;
  stateDatabaseUrl: string;
  /** Where psql, pg_dump and pgbench live. */
  clientBinDir: string;
  slack: FakeSlack;
  config: Config;
  services: OpenServices;
  bot: SlackBot;
  signingSecret: string;
  eventsUrl: string;
  /** Sends signed requests to the bot's real endpoint, as Slack does. */
  client: ReturnType<typeof slackClient>;
  botLogTail(lines?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * Undo steps, run in reverse order. Each started resource pushes its own, so a failure (or Ctrl-C)
 * halfway through start-up still removes everything that came up.
 */
export class Undo {
  private readonly steps: (() => Promise<void> | void)[] = [];

  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  private running: Promise<void> | undefined;

  /** Runs every step even if some fail; a second caller (Ctrl-C during cleanup) waits for the first. */
  run(): Promise<void> {
    this.running ??= this.runSteps().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runSteps(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `the benchmark did not clean up completely: ${errors.map(String).join('; ')}`);
  }
}

export async function startHarness(say: (line: string) => void, undo = new Undo()): Promise<Harness> {
  const close = (): Promise<void> => undo.run();
  try {
    const bin = clientBinDir();
    if (bin === undefined) throw new Error('psql was not found: install the PostgreSQL client tools (pg_config --bindir or psql on the PATH).');

    const root = await mkdtemp(path.join(os.tmpdir(), 'recipedb-bench-'));
    undo.push(() => rm(root, { recursive: true, force: true }));
    await handOverToServerAccount(root);

    say('Starting a private PostgreSQL…');
    // Not durable (fsync off): every figure compares two ways of reading the same server, so crash
    // safety changes nothing in the ratios, and generating data is much faster without it.
    const server = await startLocalPostgres({ dataDir: path.join(root, 'pg'), durable: false });
    const releaseExitHook = stopOnExit(server);
    undo.push(() => server.stop());
    undo.push(releaseExitHook);
    const adminUrl = server.url();

    say('Creating the demo Recipe Database…');
    await createDemoDatabase(adminUrl, OPERATED_DATABASE);
    await ensureDatabase(adminUrl, STATE_DATABASE);

    const slack = await startFakeSlack();
    undo.push(() => slack.close());

    const signingSecret = randomBytes(16).toString('hex');
    const operated = databaseUrl(adminUrl, OPERATED_DATABASE);
    const state = databaseUrl(adminUrl, STATE_DATABASE);
    // Only what we pass: the operator's own SLACK_* or DATABASE_URL must not leak into a benchmark.
    const config = loadConfig({
      SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATABASE_URL: operated,
      STATE_DATABASE_URL: state,
      BACKUP_DIR: path.join(root, 'backups'),
      BACKUP_SCHEDULE: 'off',
      LOG_LEVEL: 'info',
    });
    // The bot logs at info as in production (its cost is part of the figures), into a file.
    const logFile = path.join(root, 'bot.log');
    const logStream = createWriteStream(logFile);
    undo.push(() => new Promise<void>((resolve) => logStream.end(resolve)));
    const log = createLogger({ level: config.logLevel, secrets: config.secrets, destination: logStream, pretty: false });

    say('Starting the bot…');
    const services = await openServices(config, log, { databaseUrl: operated, stateDatabaseUrl: state });
    undo.push(() => services.close());
    const bot = await startSlackApp(services);
    undo.push(() => bot.stop());

    const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    return {
      root,
      pg: server,
      adminUrl,
      databaseUrl: operated,
      stateDatabaseUrl: state,
      clientBinDir: bin,
      slack,
      config,
      services,
      bot,
      signingSecret,
      eventsUrl,
      client: slackClient({ eventsUrl, signingSecret, fakeSlack: slack }),
      botLogTail: async (lines = 20) => {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        return text.trimEnd().split('\n').slice(-lines).join('\n');
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
