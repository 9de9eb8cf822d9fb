/**
 * `POST /alerts` on the real bot (Bolt's HTTP receiver, and our own server in Socket Mode), fed
 * the bodies Alertmanager 0.25 really sends (test/fixtures/alertmanager-webhooks.json): who may
 * post, what is refused and changes nothing, and how a group's notifications become one message.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openServices, type OpenServices } from '../../src/services.js';
import { startSlackApp, type SlackBot } from '../../src/bot/slack-app.js';
import { STATE_SCHEMA } from '../../src/state/migrate.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, testEnv, TEST_BOT_TOKEN, type TestBot } from '../support/bot.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { captureLog } from '../support/log-capture.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { freePort } from '../support/free-port.js';
import { colorOf, textOf, tsOf } from '../support/slack-messages.js';
import { COLORS } from '../../src/bot/views/alert-group-view.js';

const TOKEN = 'alerts-token-0123456789abcdef';
const CHANNEL = 'C_ALERTS';
const samples = JSON.parse(readFileSync(new URL('../fixtures/alertmanager-webhooks.json', import.meta.url), 'utf8')) as Record<string, { body: Record<string, unknown> }>;
const body = (name: string) => JSON.stringify(samples[name]?.body);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postAlerts(baseUrl: string, payload: string | Uint8Array | ReadableStream, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const response = await fetch(`${baseUrl}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, text: await response.text() };
}

describe('POST /alerts', () => {
  let slack: FakeSlack;
  let bot: TestBot;
  let state: pg.Pool;

  const alertPosts = () => slack.callsTo('chat.postMessage').filter((c) => c.body.channel === CHANNEL && c.body.thread_ts === undefined);
  const groups = async () => Number((await state.query<{ n: string }>('SELECT count(*) AS n FROM alert_groups')).rows[0]?.n);
  const counted = async (outcome: string) => {
    const text = await (await fetch(`${bot.baseUrl}/metrics`)).text();
    return Number(new RegExp(`^recipedb_ops_alert_notifications_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
    bot = await startTestBot({ slack, env: { ALERTS_TOKEN: TOKEN, ALERTS_CHANNEL: CHANNEL, APPROVERS: 'U_BOB' } });
    state = new pg.Pool({ connectionString: bot.stateDatabaseUrl, max: 2, options: `-c search_path=${STATE_SCHEMA}` });
  });
  afterAll(async () => {
    await state?.end();
    await bot?.stop();
    await slack?.close();
  });

  it('answers 401 without the right bearer token, and posts and stores nothing', async () => {
    const refused = [
      await postAlerts(bot.baseUrl, body('firstFiring'), {}),
      await postAlerts(bot.baseUrl, body('firstFiring'), { authorization: 'Bearer wrong-token-0123456789abcdef' }),
      await postAlerts(bot.baseUrl, body('firstFiring'), { authorization: `Bearer ${TOKEN}x` }),
      await postAlerts(bot.baseUrl, body('firstFiring'), { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }),
      await postAlerts(bot.baseUrl, body('firstFiring'), { authorization: TOKEN }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    await sleep(200);
    expect(alertPosts()).toEqual([]);
    expect(await groups()).toBe(0);
    expect(await counted('unauthorized')).toBe(5);
    // The token never reaches the log.
    expect(bot.log.text()).not.toContain(TOKEN);
  });

  it('answers 400 to a body that is not an Alertmanager payload, and changes nothing', async () => {
    const v3 = { ...samples.firstFiring?.body, version: '3' };
    const noAlerts = { ...samples.firstFiring?.body, alerts: [] };
    const answers = [
      await postAlerts(bot.baseUrl, 'this is not json {'),
      await postAlerts(bot.baseUrl, '{"hello":"world"}'),
      await postAlerts(bot.baseUrl, JSON.stringify(v3)),
      await postAlerts(bot.baseUrl, JSON.stringify(noAlerts)),
      await postAlerts(bot.baseUrl, ''),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);
    expect(answers[0]?.text).toBe('malformed: the body is not JSON\n');
    expect(answers[2]?.text).toContain('version: only webhook payload version 4 is understood');
    await sleep(200);
    expect(alertPosts()).toEqual([]);
    expect(await groups()).toBe(0);
  });

  it('refuses a 5 MB body (announced or chunked) with 413 before buffering it, and changes nothing', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, ' ');
    const announced = await postAlerts(bot.baseUrl, big);
    const chunked = await postAlerts(bot.baseUrl, new ReadableStream({ pull: (c) => { c.enqueue(big); c.close(); } }));
    expect([announced.status, chunked.status]).toEqual([413, 413]);
    expect(announced.text).toContain('set max_alerts');
    expect(await counted('too_large')).toBe(2);
    expect(alertPosts()).toEqual([]);
    expect(await groups()).toBe(0);
    // Still serving.
    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);
  });

  it('turns a group\'s notifications into one message: posted, repeats ignored, edited on each change, green when resolved', async () => {
    // As Alertmanager sent them, each repeated once more (repeat_interval, or an HA peer's copy).
    // Alertmanager waits group_interval between notifications: each change is drawn before the next.
    const steps: [string, 'change' | 'copy'][] = [
      ['firstFiring', 'change'], ['repeat', 'copy'], ['changeSecondAlertAdded', 'change'], ['changeSecondAlertAdded', 'copy'],
      ['truncatedByMaxAlerts', 'change'], ['partialResolve', 'change'], ['allResolved', 'change'], ['allResolved', 'copy'],
    ];
    const drawn = () => slack.calls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === CHANNEL && c.body.thread_ts === undefined).length;
    for (const [step, kind] of steps) {
      const before = drawn();
      const answer = await postAlerts(bot.baseUrl, body(step));
      expect(answer, step).toEqual({ status: 200, text: 'ok\n' });
      if (kind === 'change') {
        const deadline = Date.now() + 5_000;
        while (drawn() === before && Date.now() < deadline) await sleep(20);
      } else await sleep(150);
      expect(drawn(), step).toBe(before + (kind === 'change' ? 1 : 0));
    }
    const posted = alertPosts();
    expect(posted).toHaveLength(1);
    const ts = tsOf(posted[0] as SlackCall);
    expect(textOf(posted[0] as SlackCall)).toContain('🔥 [CRITICAL] PostgresDown');
    expect(colorOf(posted[0] as SlackCall)).toBe(COLORS.firing);
    const edits = slack.callsTo('chat.update').filter((c) => c.body.ts === ts);
    // The four changes; the copies drew nothing.
    expect(edits).toHaveLength(4);
    const texts = edits.map(textOf);
    expect(texts.some((t) => t.includes('2 firing') && t.includes('pg down on db2'))).toBe(true);
    expect(texts.some((t) => t.includes('+1 more alert in this group'))).toBe(true);
    const last = texts.at(-1) ?? '';
    expect(last).toContain('✅ Resolved: PostgresDown');
    expect(last).toMatch(/after firing for \*?\d/);
    expect(edits.slice(0, -1).map((c) => colorOf(c))).toEqual(Array(3).fill(COLORS.firing));
    expect(colorOf(edits.at(-1) as SlackCall)).toBe(COLORS.resolved);
    expect(edits.at(-1)?.body.channel).toBe(CHANNEL);
    expect(await counted('repeat')).toBe(3);
    expect(await groups()).toBe(1);
  });

  it('records each alert firing and resolving in the audit log, once', async () => {
    const entries = (await readAudit(bot.services.state, 100)).filter((e) => e.kind.startsWith('alert.'));
    const lines = entries.map((e) => `${e.kind} ${String((e.details?.labels as Record<string, string>)?.instance)}`);
    expect(lines.filter((l) => l === 'alert.firing db1:9187')).toHaveLength(1);
    expect(lines.filter((l) => l === 'alert.resolved db1:9187')).toHaveLength(1);
    expect(lines).toContain('alert.resolved db2:9187');
    expect(entries.every((e) => e.actor === 'alertmanager' && e.channel === CHANNEL)).toBe(true);
  });

  it('lists what it received and has not seen resolved when ALERTMANAGER_URL is not set', async () => {
    const fresh = { ...samples.firstFiring?.body, groupKey: '{}:{alertname="RecipeDatabaseTooManyConnections"}' } as unknown as Record<string, unknown> & { alerts: Record<string, unknown>[] };
    fresh.alerts = fresh.alerts.map((a) => ({ ...a, fingerprint: 'c0ffee0000000001', labels: { alertname: 'RecipeDatabaseTooManyConnections', severity: 'warning', server: 'db1:5432' }, annotations: { summary: '85% of max_connections in use (db1:5432)' } }));
    expect((await postAlerts(bot.baseUrl, JSON.stringify(fresh))).status).toBe(200);
    await bot.client.command('alerts', { channelId: 'C_OPS' });
    const answer = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Alerts firing now'));
    const text = textOf(answer);
    expect(text).toContain('ALERTMANAGER_URL is not set');
    expect(text).toContain('RecipeDatabaseTooManyConnections');
    expect(text).toContain('85% of max_connections in use (db1:5432)');
    expect(text).toMatch(/last\s+notified/);
    // PostgresDown resolved: not listed.
    expect(text).not.toContain('PostgresDown');
  });

  it('does not exist without ALERTS_TOKEN', async () => {
    const other = await startTestBot({ slack });
    try {
      const answer = await postAlerts(other.baseUrl, body('firstFiring'));
      expect(answer.status).toBe(404);
    } finally {
      await other.stop();
    }
  });
});

describe('POST /alerts in Socket Mode', () => {
  it('is served by the side server next to the health routes', async () => {
    const slack = await startFakeSlack();
    const port = await freePort();
    const [databaseUrl, stateDatabaseUrl] = await Promise.all([createDemoTestDatabase(), createTestDatabase('state')]);
    const config = loadConfig(
      testEnv({
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_APP_TOKEN: 'xapp-1-A0TEST-1234567890-socket-mode-app-token-secret',
        SLACK_API_URL: slack.apiUrl,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        STATE_DATABASE_URL: stateDatabaseUrl,
        BACKUP_SCHEDULE: 'off',
        ALERTS_TOKEN: TOKEN,
        OPS_CHANNEL: 'C_OPS',
      }),
    );
    const log = captureLog();
    let services: OpenServices | undefined;
    let bot: SlackBot | undefined;
    try {
      services = await openServices(config, createLogger({ level: 'info', secrets: config.secrets, destination: log.stream, pretty: false }), { databaseUrl, stateDatabaseUrl });
      bot = await startSlackApp(services);
      const baseUrl = `http://127.0.0.1:${port}`;
      expect((await postAlerts(baseUrl, body('firstFiring'), {})).status).toBe(401);
      expect((await postAlerts(baseUrl, body('firstFiring'))).status).toBe(200);
      // ALERTS_CHANNEL defaults to OPS_CHANNEL.
      const posted = await slack.waitFor('chat.postMessage', (c) => textOf(c).includes('PostgresDown'));
      expect(posted.body.channel).toBe('C_OPS');
    } finally {
      await bot?.stop();
      await services?.close();
      await slack.close();
    }
  });
});
