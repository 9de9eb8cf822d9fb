/**
 * The real bot, in-process, on its real HTTP receiver, wired to test-started servers: a fresh
 * operated database (the demo schema), a fresh state database, the fake Slack API and optionally
 * the fake Kubernetes API.
 *
 *   const bot = await startTestBot({ env: { APPROVERS: 'U_BOB' } });
 *   await bot.client.command('status');
 *   const posted = await bot.slack.waitFor('chat.postMessage');
 */
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import { openServices, type OpenServices } from '../../src/services.js';
import { startSlackApp, type SlackBot } from '../../src/bot/slack-app.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { slackClient } from './slack-client.js';
import { captureLog, type LogCapture } from './log-capture.js';
import { createDemoTestDatabase, createTestDatabase } from './postgres.js';
import type { FakeKube } from './fake-kube.js';
import type { PitrServices } from '../../src/ops/pitr/pitr-services.js';

export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const TEST_BOT_TOKEN = 'xoxb-0000000000-test-bot-token-secret';

export interface TestBotOptions {
  env?: Record<string, string>;
  databaseUrl?: string;
  stateDatabaseUrl?: string;
  kube?: FakeKube;
  slack?: FakeSlack;
  /** Point-in-time recovery on a local cluster (test/support/local-pitr.ts); PGBACKREST_STANZA must be in `env`. */
  pitr?: PitrServices;
}

export interface TestBot {
  config: Config;
  services: OpenServices;
  metrics: Metrics;
  bot: SlackBot;
  slack: FakeSlack;
  client: ReturnType<typeof slackClient>;
  baseUrl: string;
  log: LogCapture;
  databaseUrl: string;
  stateDatabaseUrl: string;
  /** Stops the bot (and the fake Slack if this harness started it); databases stay for inspection. */
  stop(): Promise<void>;
}

export function testEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { LOG_LEVEL: 'info', PORT: '0', ...overrides };
}

export async function startTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const ownSlack = !options.slack;
  const slack = options.slack ?? (await startFakeSlack());
  const databaseUrl = options.databaseUrl ?? (await createDemoTestDatabase());
  const stateDatabaseUrl = options.stateDatabaseUrl ?? (await createTestDatabase('state'));
  const config = loadConfig(
    testEnv({
      SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DATABASE_URL: databaseUrl,
      STATE_DATABASE_URL: stateDatabaseUrl,
      KUBECONFIG: options.kube?.kubeconfigPath,
      BACKUP_SCHEDULE: 'off',
      HISTORY_INTERVAL: 'off',
      ...options.env,
    }),
  );
  const log = captureLog();
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets, destination: log.stream, pretty: false });
  const services = await openServices(config, logger, { databaseUrl, stateDatabaseUrl }, options.pitr ? { pitr: options.pitr } : {});
  const metrics = services.metrics;
  const bot = await startSlackApp(services).catch(async (error: unknown) => {
    await services.close();
    if (ownSlack) await slack.close();
    throw error;
  });
  const baseUrl = `http://127.0.0.1:${bot.port}`;
  const client = slackClient({ eventsUrl: `${baseUrl}/slack/events`, signingSecret: TEST_SIGNING_SECRET, fakeSlack: slack });
  return {
    config, services, metrics, bot, slack, client, baseUrl, log, databaseUrl, stateDatabaseUrl,
    async stop() {
      await bot.stop();
      await services.close();
      if (ownSlack) await slack.close();
    },
  };
}
