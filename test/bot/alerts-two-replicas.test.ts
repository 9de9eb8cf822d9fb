/**
 * Two replicas of the bot (two real Slack apps with their own instance, one state database, one
 * fake Slack) receiving Alertmanager's notifications the way the Service spreads them, and the
 * way Alertmanager HA peers duplicate them: one message per group, found again by either replica.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_SCHEMA } from '../../src/state/migrate.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { textOf, tsOf } from '../support/slack-messages.js';
import { freePort } from '../support/free-port.js';

const TOKEN = 'alerts-token-0123456789abcdef';
const CHANNEL = 'C_ALERTS';
const samples = JSON.parse(readFileSync(new URL('../fixtures/alertmanager-webhooks.json', import.meta.url), 'utf8')) as Record<string, { body: Payload }>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Payload {
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: { labels: Record<string, string>; fingerprint: string }[];
  [key: string]: unknown;
}

/** A captured body moved to another alertname (another group), fingerprints kept apart. */
function sample(name: string, alertname = 'PostgresDown'): string {
  const body = structuredClone(samples[name]?.body) as Payload;
  body.groupKey = `{}:{alertname="${alertname}"}`;
  body.groupLabels = { alertname };
  body.commonLabels = { ...body.commonLabels, alertname };
  body.alerts = body.alerts.map((a) => ({ ...a, labels: { ...a.labels, alertname }, fingerprint: `${alertname.length.toString(16)}${a.fingerprint}`.slice(0, 16) }));
  return JSON.stringify(body);
}

const post = async (bot: TestBot, body: string) =>
  (await fetch(`${bot.baseUrl}/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body })).status;

describe('two replicas receiving the same alert group', () => {
  let slack: FakeSlack;
  let a: TestBot;
  let b: TestBot;
  let state: pg.Pool;

  const roots = (alertname: string) =>
    slack.callsTo('chat.postMessage').filter((c) => c.body.channel === CHANNEL && c.body.thread_ts === undefined && textOf(c).includes(alertname));
  const edits = (ts: string) => slack.callsTo('chat.update').filter((c) => c.body.ts === ts);
  /** Waits until both replicas are idle: every group's message drawn, and no Slack call for a while. */
  const settle = async () => {
    const undrawn = async () => Number((await state.query<{ n: string }>('SELECT count(*) AS n FROM alert_groups WHERE drawn_version < version')).rows[0]?.n);
    let count = -1;
    while (count !== slack.calls.length || (await undrawn()) > 0) {
      count = slack.calls.length;
      await sleep(300);
    }
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
    const [databaseUrl, stateDatabaseUrl] = await Promise.all([createDemoTestDatabase(), createTestDatabase('state')]);
    // Short, so that the redraw job looks every second; Alertmanager on a port nothing listens on.
    const env = { ALERTS_TOKEN: TOKEN, ALERTS_CHANNEL: CHANNEL, REPLICA_TIMEOUT: '2s', ALERTMANAGER_URL: `http://127.0.0.1:${await freePort()}` };
    [a, b] = await Promise.all([
      startTestBot({ slack, databaseUrl, stateDatabaseUrl, env }),
      startTestBot({ slack, databaseUrl, stateDatabaseUrl, env }),
    ]);
    expect(a.services.instance).not.toBe(b.services.instance);
    state = new pg.Pool({ connectionString: stateDatabaseUrl, max: 2, options: `-c search_path=${STATE_SCHEMA}` });
  });
  afterAll(async () => {
    await state?.end();
    await Promise.all([a?.stop(), b?.stop()]);
    await slack?.close();
  });

  it('posts one message when both get the same notification at once, several times over', async () => {
    const statuses = await Promise.all([a, b, a, b, a, b].map((bot) => post(bot, sample('firstFiring'))));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    await settle();
    const posted = roots('PostgresDown');
    expect(posted).toHaveLength(1);
    expect(edits(tsOf(posted[0] as SlackCall))).toEqual([]);
    const firing = (await readAudit(state, 100)).filter((e) => e.kind === 'alert.firing');
    expect(firing).toHaveLength(1);
  });

  it('edits the message the other replica posted, once per change however many copies arrive', async () => {
    const ts = tsOf(roots('PostgresDown')[0] as SlackCall);
    // Only B hears of the second alert: it finds A's message through the state database.
    expect(await post(b, sample('changeSecondAlertAdded'))).toBe(200);
    await settle();
    expect(edits(ts)).toHaveLength(1);
    expect(textOf(edits(ts)[0] as SlackCall)).toContain('2 firing');
    // Copies of the next ones reach both at once.
    for (const step of ['truncatedByMaxAlerts', 'allResolved']) {
      expect(await Promise.all([post(a, sample(step)), post(b, sample(step)), post(a, sample(step))])).toEqual([200, 200, 200]);
      await settle();
    }
    expect(edits(ts)).toHaveLength(3);
    expect(textOf(edits(ts)[2] as SlackCall)).toContain('✅ Resolved: PostgresDown');
    expect(roots('PostgresDown')).toHaveLength(1);
  });

  it('ends with the message showing what was stored last when a first notification and a change race', async () => {
    const name = 'RecipeDatabaseDown';
    expect(await Promise.all([post(a, sample('firstFiring', name)), post(b, sample('changeSecondAlertAdded', name))])).toEqual([200, 200]);
    await settle();
    const posted = roots(name);
    expect(posted).toHaveLength(1);
    const last = edits(tsOf(posted[0] as SlackCall)).at(-1) ?? (posted[0] as SlackCall);
    const stored = (await state.query<{ n: number; drawn: boolean }>(
      `SELECT jsonb_array_length(notification->'alerts') AS n, drawn_version = version AS drawn FROM alert_groups WHERE group_key = $1 AND current`,
      [`{}:{alertname="${name}"}`],
    )).rows[0];
    expect(stored?.drawn).toBe(true);
    expect(textOf(last)).toContain(`${stored?.n} firing`);
  });

  it('draws a message whose first post failed, on the redraw job of either replica', async () => {
    const name = 'RecipeDatabaseDeadlocks';
    slack.failNext('chat.postMessage', 'ratelimited');
    expect(await post(a, sample('firstFiring', name))).toBe(200);
    const posted = await slack.waitFor('chat.postMessage', (c) => c.response.ok === true && textOf(c).includes(name), 10_000);
    expect(slack.callsTo('chat.postMessage').filter((c) => c.response.ok === false)).toHaveLength(1);
    await settle();
    expect(roots(name).filter((c) => c.response.ok === true)).toEqual([posted]);
  });

  it('lists what it received when Alertmanager cannot be reached, saying so', async () => {
    await a.client.command('alerts', { channelId: 'C_OPS' });
    const answer = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Alerts firing now'));
    const text = textOf(answer);
    expect(text).toMatch(/Alertmanager\s+could\s+not\s+be\s+reached\s+\(connection\s+refused/);
    expect(text).toContain('RecipeDatabaseDeadlocks');
    expect(text).not.toContain('PostgresDown');
  });
});
