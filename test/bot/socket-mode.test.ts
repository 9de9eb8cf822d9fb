import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openServices, type OpenServices } from '../../src/services.js';
import { startSlackApp, type SlackBot } from '../../src/bot/slack-app.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { captureLog, type LogCapture } from '../support/log-capture.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { TEST_BOT_TOKEN, testEnv } from '../support/bot.js';
import { freePort } from '../support/free-port.js';

const APP_TOKEN = 'xapp-1-A0TEST-1234567890-socket-mode-app-token-secret';

/** The fields Slack sends for a slash command, as the Socket Mode envelope's payload carries them. */
function slashCommand(text: string, responseUrl: string, channelId = 'C_OPS'): Record<string, unknown> {
  return {
    token: 'verification-token',
    team_id: 'T0TEST',
    team_domain: 'testteam',
    channel_id: channelId,
    channel_name: 'ops',
    user_id: 'U_ALICE',
    user_name: 'alice',
    command: '/recipedb',
    text,
    api_app_id: 'A0TEST',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.1.socketmode`,
  };
}

function textOf(call: SlackCall): string {
  return renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as Message['blocks'] }).text;
}

describe('the Slack app in Socket Mode', () => {
  let slack: FakeSlack;
  let services: OpenServices;
  let bot: SlackBot;
  let log: LogCapture;
  let port: number;
  let stopped = false;

  beforeAll(async () => {
    slack = await startFakeSlack();
    port = await freePort();
    const [databaseUrl, stateDatabaseUrl] = await Promise.all([createDemoTestDatabase(), createTestDatabase('state')]);
    const config = loadConfig(
      testEnv({
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_APP_TOKEN: APP_TOKEN,
        SLACK_API_URL: slack.apiUrl,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        STATE_DATABASE_URL: stateDatabaseUrl,
        BACKUP_SCHEDULE: 'off',
      }),
    );
    expect(config.mode).toBe('slack-socket');
    log = captureLog();
    const logger = createLogger({ level: config.logLevel, secrets: config.secrets, destination: log.stream, pretty: false });
    services = await openServices(config, logger, { databaseUrl, stateDatabaseUrl });
    bot = await startSlackApp(services);
  });

  afterAll(async () => {
    if (!stopped) await bot?.stop();
    await services?.close();
    await slack?.close();
  });

  it('opens the socket with the app token, not the bot token', () => {
    const opened = slack.callsTo('apps.connections.open');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.token).toBe(APP_TOKEN);
    expect(slack.socketClients()).toBe(1);
    expect(bot.port).toBe(port);
  });

  it('acks a status command over the socket and posts the status with the bot token', async () => {
    slack.reset();
    const ack = await slack.sendSocketEnvelope('slash_commands', slashCommand('status', slack.responseUrl('status')));
    expect(ack.envelope_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ack.payload ?? {}).toEqual({});

    const posted = await slack.waitFor('chat.postMessage', () => true, 10_000);
    expect(posted.token).toBe(TEST_BOT_TOKEN);
    expect(posted.body.channel).toBe('C_OPS');
    const text = textOf(posted);
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(text).toMatch(/Connections: \d+ \/ 200/);
    expect(text).toContain('Measured at');
  });

  it('answers an unknown command in the ack payload itself', async () => {
    slack.reset();
    const ack = await slack.sendSocketEnvelope('slash_commands', slashCommand('frobnicate', slack.responseUrl('unknown')));
    expect(ack.payload?.response_type).toBe('ephemeral');
    expect(JSON.stringify(ack.payload)).toContain('Unknown command `frobnicate`');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('serves /healthz, /readyz and /metrics on PORT', async () => {
    const base = `http://127.0.0.1:${port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    // The status command above went through the same listener as in HTTP mode.
    expect(await metrics.text()).toMatch(/recipedb_ops_commands_total\{[^}]*command="status"[^}]*\} 1/);
  });

  it('never writes the app token to the log', () => {
    expect(log.text()).not.toContain(APP_TOKEN);
  });

  it('on SIGTERM closes the socket at once (Slack sends new work to the other replica), finishes running work, then frees PORT', async () => {
    const opensBefore = slack.callsTo('apps.connections.open').length;
    let finishWork = () => undefined as void;
    void services.lifecycle.track(new Promise<void>((resolve) => (finishWork = resolve)));
    const drained = bot.drain();
    stopped = true;
    await slack.waitForSocketClientsGone(5_000);
    // Still serving probes while the work runs, but no longer ready for traffic.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    finishWork();
    await expect(drained).resolves.toEqual({ unfinished: 0 });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // No reconnection after a deliberate stop.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.callsTo('apps.connections.open')).toHaveLength(opensBefore);
  });
});

describe('Socket Mode start-up errors', () => {
  it('refuses a busy PORT with an error instead of crashing, and reports the port it got for PORT=0', async () => {
    const slack = await startFakeSlack();
    const [databaseUrl, stateDatabaseUrl] = await Promise.all([createDemoTestDatabase(), createTestDatabase('state')]);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, resolve));
    const busyPort = (busy.address() as { port: number }).port;
    const open = async (port: number) => {
      const config = loadConfig(
        testEnv({ SLACK_BOT_TOKEN: TEST_BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: slack.apiUrl, PORT: String(port), DATABASE_URL: databaseUrl, STATE_DATABASE_URL: stateDatabaseUrl, BACKUP_SCHEDULE: 'off' }),
      );
      const logger = createLogger({ level: 'warn', secrets: config.secrets, destination: captureLog().stream, pretty: false });
      return openServices(config, logger, { databaseUrl, stateDatabaseUrl });
    };
    const first = await open(busyPort);
    const second = await open(0);
    try {
      await expect(startSlackApp(first)).rejects.toThrow(/EADDRINUSE/);
      const bot = await startSlackApp(second);
      expect(bot.port).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
      await bot.stop();
    } finally {
      busy.close();
      await Promise.all([first.close(), second.close()]);
      await slack.close();
    }
  });
});
