/**
 * The real Alertmanager (Debian's 0.25) in front of the real bot: alerts posted to Alertmanager's
 * API reach the bot's `/alerts` through Alertmanager's own grouping, repeats, resolution and
 * retries, and the message's buttons act on Alertmanager (silences it then lists), on the database
 * (Kill… through the usual approval) and on the incident timeline.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiringAlertGroups } from '../../src/state/alert-groups.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startAlertmanager, type PostedAlert, type RunningAlertmanager } from '../support/alertmanager.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { freePort } from '../support/free-port.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { colorOf, messageOf, rendered, tsOf } from '../support/slack-messages.js';
import { COLORS } from '../../src/bot/views/alert-group-view.js';

const TOKEN = 'alerts-token-0123456789abcdef';
const CHANNEL = 'C_ALERTS';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What Slack shows, unwrapped, so that a long line reads as one. */
const textOf = (call: SlackCall) => renderBlocks(messageOf(call), { width: 10_000 }).text;

function alert(alertname: string, labels: Record<string, string>, annotations: Record<string, string> = {}): PostedAlert {
  return {
    labels: { alertname, severity: 'critical', ...labels },
    annotations: { summary: `${alertname} on ${Object.values(labels).join(' ')}`, ...annotations },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    generatorURL: 'http://prometheus.test/graph?g0.expr=pg_up+%3D%3D+0',
  };
}
const resolved = (a: PostedAlert): PostedAlert => ({ ...a, endsAt: new Date().toISOString() });

async function until<T>(what: string, read: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('Alertmanager → the bot → Slack', () => {
  let slack: FakeSlack;
  let am: RunningAlertmanager;
  let bot: TestBot;
  let databaseUrl: string;

  /** The root messages of one group (by alertname) in the alerts channel. */
  const roots = (alertname: string) =>
    slack.callsTo('chat.postMessage').filter((c) => c.body.channel === CHANNEL && c.body.thread_ts === undefined && textOf(c).includes(alertname) && !textOf(c).includes('Incident'));
  const edits = (ts: string) => slack.callsTo('chat.update').filter((c) => c.body.ts === ts);
  const latest = (ts: string): SlackCall => {
    const all = [...slack.callsTo('chat.postMessage').filter((c) => c.response.ts === ts), ...edits(ts)];
    return all.at(-1) as SlackCall;
  };
  const counted = async (outcome: string) => {
    const text = await (await fetch(`${bot.baseUrl}/metrics`)).text();
    return Number(new RegExp(`^recipedb_ops_alert_notifications_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const click = (actionId: string, ts: string, userId: string) => {
    const button = rendered(latest(ts)).choices.find((c) => c.actionId === actionId);
    if (!button) throw new Error(`no ${actionId} button on:\n${textOf(latest(ts))}`);
    return bot.client.blockAction({ actionId, value: button.value, userId, channelId: CHANNEL, messageTs: ts });
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
    databaseUrl = await createDemoTestDatabase();
    const [botPort, amPort] = await Promise.all([freePort(), freePort()]);
    // Alertmanager first, pointing at a bot that is not up yet: its first attempts fail.
    am = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${botPort}/alerts`,
      token: TOKEN,
      port: amPort,
      repeatInterval: '2s',
      // The exporter missing makes the growth rule meaningless: its warning waits (the inhibition test).
      inhibitRules: [{ sourceMatchers: ['alertname="RecipeDatabaseExporterMissing"'], targetMatchers: ['alertname="RecipeDatabaseGrowthHigh"'], equal: ['datname'] }],
    });
    await am.postAlerts([alert('RecipeDatabaseDown', { instance: 'db1:9187' })]);
    await until('a failed notification attempt', () => /Notify attempt failed|Notify for alerts failed/.test(am.log()));
    bot = await startTestBot({
      slack,
      databaseUrl,
      // REPLICA_TIMEOUT 4s: the bot looks at Alertmanager every 2 s instead of 15.
      env: { PORT: String(botPort), ALERTS_TOKEN: TOKEN, ALERTS_CHANNEL: CHANNEL, ALERTMANAGER_URL: am.url, APPROVERS: 'U_BOB', REPLICA_TIMEOUT: '4s' },
    });
  });
  afterAll(async () => {
    await am?.stop();
    await bot?.stop();
    await slack?.close();
  });

  it('gets the notification Alertmanager retried until the bot was up', async () => {
    const posted = await slack.waitFor('chat.postMessage', (c) => c.body.channel === CHANNEL && textOf(c).includes('RecipeDatabaseDown'), 20_000);
    expect(textOf(posted)).toContain('🔥 [CRITICAL] RecipeDatabaseDown');
    expect(textOf(posted)).toContain('RecipeDatabaseDown on db1:9187');
    expect(textOf(posted)).toContain(`Alertmanager (${am.url})`);
    expect(am.log()).toMatch(/Notify success/);
  });

  it('firing → repeat → a second alert → resolved: one message, edited twice', async () => {
    const ts = tsOf(roots('RecipeDatabaseDown')[0] as SlackCall);
    // repeat_interval is 2s: Alertmanager sends the same group again, and nothing is drawn.
    const repeats = await counted('repeat');
    await until('a repeated notification', async () => (await counted('repeat')) > repeats, 10_000);
    expect(roots('RecipeDatabaseDown')).toHaveLength(1);
    expect(edits(ts)).toEqual([]);

    const db1 = alert('RecipeDatabaseDown', { instance: 'db1:9187' });
    const db2 = alert('RecipeDatabaseDown', { instance: 'db2:9187' });
    await am.postAlerts([db2]);
    const second = await until('the edit with two alerts', () => edits(ts).find((c) => textOf(c).includes('2 firing')));
    expect(textOf(second)).toContain('RecipeDatabaseDown on db2:9187');

    await am.postAlerts([resolved(db1), resolved(db2)]);
    const green = await until('the resolved edit', () => edits(ts).find((c) => textOf(c).includes('Resolved: RecipeDatabaseDown')));
    expect(textOf(green)).toMatch(/after firing for \d/);
    // Resolved groups are not repeated; nothing else is drawn.
    await sleep(2_500);
    expect(edits(ts)).toHaveLength(2);
    expect(roots('RecipeDatabaseDown')).toHaveLength(1);
  });

  it('silences the group in Alertmanager for whoever clicks (not an approver), records it, and expires it', async () => {
    await am.postAlerts([alert('RecipeDatabaseTooManyConnections', { server: 'db1:5432' })]);
    const ts = tsOf(await until('the connections message', () => roots('RecipeDatabaseTooManyConnections')[0]));
    expect((await click('alert_silence', ts, 'U_CAROL')).status).toBe(200);

    const silence = await until('the silence in Alertmanager', async () => (await am.silences()).find((s) => s.status.state === 'active'));
    expect(silence.createdBy).toBe('carol (U_CAROL)');
    expect(silence.matchers.map((m) => `${m.name}=${m.value}`).sort()).toEqual(['alertname=RecipeDatabaseTooManyConnections', 'server=db1:5432', 'severity=critical']);
    expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBeGreaterThan(59 * 60_000);
    const shown = await until('the silenced message', () => edits(ts).find((c) => textOf(c).includes('Silenced in Alertmanager by @U_CAROL')));
    expect(rendered(shown).choices.map((c) => c.label)).toContain('Expire silence');
    expect(rendered(shown).choices.map((c) => c.label)).not.toContain('Silence 1h');
    const note = await slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === ts && textOf(c).includes('silenced this alert'));
    expect(textOf(note)).toContain(silence.id);
    const audit = (await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.silenced');
    expect(audit).toEqual([expect.objectContaining({ actor: 'U_CAROL', channel: CHANNEL, action: 'silence', details: expect.objectContaining({ silenceId: silence.id }) })]);
    // Alertmanager now counts the alert as suppressed.
    await bot.client.command('alerts', { channelId: 'C_OPS' });
    const listed = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Alerts firing now'));
    expect(textOf(listed)).toContain('From Alertmanager.');
    expect(textOf(listed)).toMatch(/RecipeDatabaseTooManyConnections · firing[^\n]*silenced or inhibited/);

    expect((await click('alert_expire_silence', ts, 'U_DAVE')).status).toBe(200);
    await until('the expired silence', async () => (await am.silences()).find((s) => s.id === silence.id && s.status.state === 'expired'));
    await until('the message without the silence', () => edits(ts).find((c, i, all) => i === all.length - 1 && !textOf(c).includes('Silenced') && rendered(c).choices.some((b) => b.label === 'Silence 1h')));
    expect((await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.unsilenced').map((e) => e.actor)).toEqual(['U_DAVE']);
  });

  it('sees a silenced group resolve, which Alertmanager does not notify, and turns its message green', async () => {
    const archiving = alert('RecipeDatabaseWalArchivingFailing', { datname: 'recipe_database' });
    await am.postAlerts([archiving]);
    const ts = tsOf(await until('the archiving message', () => roots('RecipeDatabaseWalArchivingFailing')[0]));
    expect((await click('alert_silence', ts, 'U_CAROL')).status).toBe(200);
    await until('the silenced message', () => edits(ts).find((c) => textOf(c).includes('Silenced in Alertmanager by @U_CAROL')));
    const notified = await counted('changed');
    await am.postAlerts([resolved(archiving)]);
    // The bot's own look (every 2 s here) finds Alertmanager no longer listing it.
    const green = await until('the resolved edit', () => edits(ts).find((c) => textOf(c).includes('Resolved: RecipeDatabaseWalArchivingFailing')), 30_000);
    expect(colorOf(green)).toBe(COLORS.resolved);
    expect(textOf(green)).toMatch(/after firing for \d/);
    // Alertmanager itself said nothing: the silence muted the resolution too.
    expect(await counted('changed')).toBe(notified);
    const audit = (await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.resolved' && e.action === 'RecipeDatabaseWalArchivingFailing');
    expect(audit).toHaveLength(1);
  }, 60_000);

  it('shows a group muted by a silence made in Alertmanager itself, by whom, and turns it green when it resolves unnotified', async () => {
    const backup = alert('RecipeDatabaseBackupMissing', { datname: 'recipe_database' });
    await am.postAlerts([backup]);
    const ts = tsOf(await until('the backup message', () => roots('RecipeDatabaseBackupMissing')[0]));
    // As someone would in Alertmanager's UI or with amtool: the bot has no part in it.
    const id = await am.silence({ matchers: { alertname: 'RecipeDatabaseBackupMissing' }, createdBy: 'erin@example.org', comment: 'moving the backup volume' });
    const muted = await until('the muted message', () => edits(ts).find((c) => textOf(c).includes('Muted in Alertmanager')), 20_000);
    expect(textOf(muted)).toMatch(new RegExp(`Muted in Alertmanager: silenced by erin@example\\.org until [^(]+ \\(silence ${id}\\): “moving the backup volume”`));
    expect(colorOf(muted)).toBe(COLORS.firing);
    expect(textOf(muted)).not.toContain('Silenced in Alertmanager by @');

    const notified = await counted('changed');
    await am.postAlerts([resolved(backup)]);
    const green = await until('the resolved edit', () => edits(ts).find((c) => textOf(c).includes('Resolved: RecipeDatabaseBackupMissing')), 20_000);
    expect(colorOf(green)).toBe(COLORS.resolved);
    expect(textOf(green)).toMatch(/after firing for \d/);
    expect(textOf(green)).not.toContain('Muted');
    expect(await counted('changed')).toBe(notified);
    await sleep(4_500);
    const audit = (await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.resolved' && e.action === 'RecipeDatabaseBackupMissing');
    expect(audit).toEqual([expect.objectContaining({ actor: 'alertmanager', channel: CHANNEL })]);
    expect(roots('RecipeDatabaseBackupMissing')).toHaveLength(1);
  }, 60_000);

  it('shows a warning inhibited by a critical alert as inhibited, and green when it resolves under the inhibition', async () => {
    const growth = alert('RecipeDatabaseGrowthHigh', { datname: 'recipe_database' });
    growth.labels.severity = 'warning';
    await am.postAlerts([growth]);
    const ts = tsOf(await until('the growth message', () => roots('RecipeDatabaseGrowthHigh')[0]));
    expect(colorOf(latest(ts))).toBe(COLORS.warning);
    const exporter = alert('RecipeDatabaseExporterMissing', { datname: 'recipe_database' });
    await am.postAlerts([exporter]);
    const inhibited = await until('the inhibited message', () => edits(ts).find((c) => textOf(c).includes('Muted in Alertmanager')), 20_000);
    expect(textOf(inhibited)).toContain('Muted in Alertmanager: inhibited by RecipeDatabaseExporterMissing');
    expect(colorOf(inhibited)).toBe(COLORS.warning);

    await am.postAlerts([resolved(growth)]);
    const green = await until('the resolved edit', () => edits(ts).find((c) => textOf(c).includes('Resolved: RecipeDatabaseGrowthHigh')), 20_000);
    expect(colorOf(green)).toBe(COLORS.resolved);
    const audit = (await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.resolved' && e.action === 'RecipeDatabaseGrowthHigh');
    expect(audit).toHaveLength(1);
    // The inhibiting alert was never muted: it is still firing, red.
    const source = roots('RecipeDatabaseExporterMissing')[0] as SlackCall;
    expect(colorOf(latest(tsOf(source)))).toBe(COLORS.firing);
    await am.postAlerts([resolved(exporter)]);
    await until('the exporter resolved', () => edits(tsOf(source)).find((c) => textOf(c).includes('Resolved: RecipeDatabaseExporterMissing')));
  }, 60_000);

  it('leaves alone a firing group Alertmanager does not list without having shown it muted', async () => {
    // Told to the bot but not held by this Alertmanager: as after a restart, or for a copy from another one.
    const ghost = {
      version: '4', groupKey: '{}:{alertname="RecipedbOpsBackupsFailing"}', status: 'firing', receiver: 'recipedb-ops',
      groupLabels: { alertname: 'RecipedbOpsBackupsFailing' }, commonLabels: { alertname: 'RecipedbOpsBackupsFailing', severity: 'critical' },
      commonAnnotations: {}, externalURL: am.url, truncatedAlerts: 0,
      alerts: [{
        status: 'firing', labels: { alertname: 'RecipedbOpsBackupsFailing', severity: 'critical' }, annotations: { summary: 'backups failing' },
        startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: '0123456789abcdef',
      }],
    };
    const answer = await fetch(`${bot.baseUrl}/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(ghost) });
    expect(answer.status).toBe(200);
    const ts = tsOf(await until('the ghost message', () => roots('RecipedbOpsBackupsFailing')[0]));
    // A group muted and resolved in Alertmanager afterwards: proof the bot has looked since, twice.
    const looked = alert('RecipedbOpsApprovalsExpiring', { instance: 'bot:3000' });
    await am.postAlerts([looked]);
    const lookedTs = tsOf(await until('the approvals message', () => roots('RecipedbOpsApprovalsExpiring')[0]));
    await am.silence({ matchers: { alertname: 'RecipedbOpsApprovalsExpiring' }, createdBy: 'frank', comment: 'known' });
    await until('the approvals message muted', () => edits(lookedTs).find((c) => textOf(c).includes('silenced by frank')), 20_000);
    await am.postAlerts([resolved(looked)]);
    await until('the approvals message green', () => edits(lookedTs).find((c) => textOf(c).includes('Resolved: RecipedbOpsApprovalsExpiring')), 20_000);

    expect(edits(ts)).toEqual([]);
    expect(colorOf(latest(ts))).toBe(COLORS.firing);
    expect((await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.resolved' && e.action === 'RecipedbOpsBackupsFailing')).toEqual([]);
  }, 60_000);

  it('answers Status and Active queries in the alert\'s thread', async () => {
    const ts = tsOf(roots('RecipeDatabaseTooManyConnections')[0] as SlackCall);
    await click('alert_status', ts, 'U_ALICE');
    const status = await slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === ts && textOf(c).includes('Recipe Database status'), 10_000);
    expect(status.body.channel).toBe(CHANNEL);
    await click('alert_active', ts, 'U_ALICE');
    const active = await slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === ts && textOf(c).includes('Active queries'), 10_000);
    expect(active.body.channel).toBe(CHANNEL);
  });

  it('Kill… opens the usual approval request for kill --older-than the alert\'s threshold', async () => {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const sleeping = client.query('SELECT pg_sleep(600)').then(() => 'finished', (e: Error) => e.message);
      await am.postAlerts([
        alert('RecipeDatabaseLongTransaction', { datname: 'recipe_database', runbook_action: 'kill' }, { kill_older_than: '1s' }),
      ]);
      const ts = tsOf(await until('the long transaction message', () => roots('RecipeDatabaseLongTransaction')[0]));
      await sleep(1_500);
      await click('alert_kill', ts, 'U_ALICE');
      const request = await slack.waitFor('chat.postMessage', (c) => c.body.channel === CHANNEL && textOf(c).includes('Approval needed: kill'), 10_000);
      expect(textOf(request)).toContain('running longer than 1.0s');
      expect(textOf(request)).toContain(`pid ${pid}`);
      expect(textOf(request)).toContain('Requested by: @U_ALICE');
      const approve = rendered(request).choices.find((c) => c.actionId === 'approval_approve');
      await bot.client.blockAction({ actionId: 'approval_approve', value: approve?.value ?? '', userId: 'U_BOB', channelId: CHANNEL, messageTs: tsOf(request) });
      expect(await sleeping).toMatch(/terminat/i);
      // The session ends before the executor has recorded its outcome.
      const kinds = async () => (await readAudit(bot.services.state, 200)).filter((e) => e.requestId === approve?.value).map((e) => e.kind);
      await until('the recorded outcome', async () => (await kinds()).includes('action.executed'));
      expect(await kinds()).toEqual(['approval.requested', 'approval.approved', 'action.executed']);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('starts an incident from the alert, with the alert first in its timeline, and the resolution entering it', async () => {
    const cache = alert('RecipeDatabaseLowCacheHitRatio', { datname: 'recipe_database' }, { summary: 'Cache hit ratio of recipe_database is 80% (below 95%)' });
    cache.labels.severity = 'warning';
    await am.postAlerts([cache]);
    const ts = tsOf(await until('the cache message', () => roots('RecipeDatabaseLowCacheHitRatio')[0]));
    await click('alert_start_incident', ts, 'U_ALICE');
    const root = await slack.waitFor('chat.postMessage', (c) => c.body.channel === CHANNEL && textOf(c).includes('Incident: Cache hit ratio of recipe_database is 80%'), 10_000);
    expect(textOf(root)).toContain('Severity: SEV3');
    expect(textOf(root)).toContain('Commander: @U_ALICE');
    const rootTs = tsOf(root);
    const thread = () => slack.callsTo('chat.postMessage').filter((c) => c.body.thread_ts === rootTs).map(textOf);
    await until('two timeline entries', () => thread().length >= 2);
    expect(thread()[0]).toContain('alert RecipeDatabaseLowCacheHitRatio is firing (warning): Cache hit ratio of recipe_database is 80%');
    expect(thread()[1]).toContain('declared the incident');
    await until('the message naming the incident', () => edits(ts).find((c) => textOf(c).includes('was started from this alert')));

    await am.postAlerts([resolved(cache)]);
    await until('the resolution in the timeline', () => thread().some((t) => t.includes('alert RecipeDatabaseLowCacheHitRatio resolved after')));
    // Another alert in the channel enters the open incident too; once.
    const other = alert('RecipeDatabaseDeadlocks', { datname: 'recipe_database' });
    await am.postAlerts([other]);
    await until('the deadlock alert in the timeline', () => thread().some((t) => t.includes('alert RecipeDatabaseDeadlocks is firing')));
    await sleep(2_500);
    expect(thread().filter((t) => t.includes('alert RecipeDatabaseDeadlocks is firing'))).toHaveLength(1);
  });

  // Last: the restart loses every alert Alertmanager holds.
  it('takes an Alertmanager restarted with its silences but without its alerts yet for no resolution', async () => {
    const slow = alert('RecipedbOpsSlowAcknowledgements', { instance: 'bot:3000' });
    await am.postAlerts([slow]);
    const ts = tsOf(await until('the acknowledgements message', () => roots('RecipedbOpsSlowAcknowledgements')[0]));
    await am.silence({ matchers: { alertname: 'RecipedbOpsSlowAcknowledgements' }, createdBy: 'grace', comment: 'known slow' });
    await until('the muted message', () => edits(ts).find((c) => textOf(c).includes('silenced by grace')), 20_000);
    await am.restart();
    const restartedAt = new Date();
    expect((await am.silences()).some((s) => s.createdBy === 'grace' && s.status.state === 'active')).toBe(true);
    // Another group muted after the restart: proof the bot has looked at the restarted one.
    const other = alert('RecipedbOpsCommandsFailing', { instance: 'bot:3000' });
    await am.postAlerts([other]);
    const otherTs = tsOf(await until('the commands message', () => roots('RecipedbOpsCommandsFailing')[0]));
    await am.silence({ matchers: { alertname: 'RecipedbOpsCommandsFailing' }, createdBy: 'heidi', comment: 'known' });
    await until('the commands message muted', () => edits(otherTs).find((c) => textOf(c).includes('silenced by heidi')), 20_000);
    expect(textOf(latest(ts))).toContain('silenced by grace');
    expect(colorOf(latest(ts))).toBe(COLORS.firing);

    // Prometheus sends it again; then it resolves, which the restarted Alertmanager does not notify either.
    await am.postAlerts([slow]);
    const seenAgain = async () =>
      (await listFiringAlertGroups(bot.services.state)).some((g) => g.notification.commonLabels.alertname === 'RecipedbOpsSlowAcknowledgements' && (g.mutedSeenAt ?? new Date(0)) > restartedAt);
    await until('the bot seeing it muted in the restarted Alertmanager', seenAgain, 20_000);
    await am.postAlerts([resolved(slow)]);
    const green = await until('the resolved edit', () => edits(ts).find((c) => textOf(c).includes('Resolved: RecipedbOpsSlowAcknowledgements')), 20_000);
    expect(colorOf(green)).toBe(COLORS.resolved);
    expect((await readAudit(bot.services.state, 200)).filter((e) => e.kind === 'alert.resolved' && e.action === 'RecipedbOpsSlowAcknowledgements')).toHaveLength(1);
  }, 90_000);
});
