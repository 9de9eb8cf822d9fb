import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('incident timeline threads', () => {
  let slack: FakeSlack;
  let bot: TestBot;
  let databaseUrl: string;
  let stateDatabaseUrl: string;
  let rootTs = '';
  const env = { APPROVERS: 'U_BOB', ESCALATION_L2: 'S_DBA' };
  const start = () => startTestBot({ env, slack, databaseUrl, stateDatabaseUrl });

  const threadReplies = (ts = rootTs, channel = 'C_OPS') =>
    slack.callsTo('chat.postMessage').filter((c) => c.body.thread_ts === ts && c.body.channel === channel);
  const threadText = (ts = rootTs, channel = 'C_OPS') => threadReplies(ts, channel).map(textOf).join('\n');
  const waitForReply = (predicate: (text: string) => boolean, ts = rootTs) =>
    slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === ts && predicate(textOf(c)), 5_000);

  beforeAll(async () => {
    slack = await startFakeSlack();
    databaseUrl = await createDemoTestDatabase();
    stateDatabaseUrl = await createTestDatabase('state');
    bot = await start();
  });
  afterAll(async () => {
    await bot.stop();
    await slack.close();
  });

  it('declares an incident with a root message and starts its thread', async () => {
    await bot.client.command('incident start "Checkout is slow" --severity sev2', { userId: 'U_ALICE' });
    const root = await slack.waitFor('chat.postMessage', (c) => textOf(c).includes('Incident: Checkout is slow'));
    expect(root.body.thread_ts).toBeUndefined();
    rootTs = tsOf(root);
    const text = textOf(root);
    expect(text).toContain('Severity: SEV2');
    expect(text).toContain('Status: Open');
    expect(text).toContain('Commander: @U_ALICE');
    expect(text).toContain('Declared by: @U_ALICE');
    const declared = await waitForReply((t) => t.includes('declared the incident "Checkout is slow" (sev2)'));
    expect(declared.body.channel).toBe('C_OPS');
  });

  it('points a second start at the open incident', async () => {
    slack.reset();
    await bot.client.command('incident start another one');
    const answer = textOf(await slack.waitFor('chat.postMessage'));
    expect(answer).toContain('An incident is already open in this channel: Checkout is slow');
  });

  it('records every command run in the channel, in order, in the thread', async () => {
    await bot.client.command('status', { userId: 'U_CAROL' });
    await waitForReply((t) => t.includes('@U_CAROL /recipedb status'));
    await waitForReply((t) => t.includes('@U_CAROL status: '));
    await bot.client.command('incident note restarted pgbouncer on node 3', { userId: 'U_CAROL' });
    await waitForReply((t) => t.includes('restarted pgbouncer on node 3'));
    await bot.client.command('locks');
    await waitForReply((t) => t.includes('/recipedb locks'));
    // Each command's result follows it, in one line: what was seen, when.
    await waitForReply((t) => /locks: No blocked queries\./.test(t));
    const texts = threadReplies().map(textOf);
    const order = ['/recipedb status', 'status: ', 'restarted pgbouncer', '/recipedb locks', 'locks: No blocked queries.'].map((s) => texts.findIndex((t) => t.includes(s)));
    expect(texts.find((t) => t.includes('status: '))).toMatch(/@U_CAROL status: (OK|WARN), connections \d+\/200/);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('keeps two channels apart', async () => {
    await bot.client.command('incident start "Replica lag" --severity sev3', { channelId: 'C_DBA' });
    const otherRoot = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_DBA' && textOf(c).includes('Incident: Replica lag'));
    const otherTs = tsOf(otherRoot);
    await bot.client.command('sizes', { channelId: 'C_DBA' });
    await waitForReply((t) => t.includes('/recipedb sizes'), otherTs);
    expect(threadText(rootTs)).not.toContain('/recipedb sizes');
    expect(threadText(rootTs)).not.toContain('Replica lag');
    await bot.client.command('incident resolve', { channelId: 'C_DBA' });
    await waitForReply((t) => t.includes('Incident document: Replica lag'), otherTs);
  });

  it('shows an approved kill with requester, approver and outcome', async () => {
    const session = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
    session.on('error', () => undefined);
    await session.connect();
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const running = session.query('SELECT pg_sleep(600)').catch(() => undefined);
    try {
      await sleep(1_100);
      slack.reset();
      await bot.client.command(`kill ${pid}`, { userId: 'U_ALICE' });
      const request = await slack.waitFor('chat.postMessage', (c) => !c.body.thread_ts && textOf(c).includes('Approval needed'));
      const id = rendered(request).choices[0]!.value;
      await bot.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: tsOf(request) });
      await waitForReply((t) => t.includes('kill: 1 of 1 terminated'));
      const thread = threadText();
      expect(thread).toContain(`@U_ALICE requested approval to terminate backend ${pid}`);
      expect(thread).toContain(`@U_BOB approved the request to terminate backend ${pid} requested by @U_ALICE`);
      expect(thread).toContain('kill: 1 of 1 terminated');
      await running;
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('takes messages from the shortcut and from a reaction, once each', async () => {
    slack.seedMessage({ channel: 'C_OPS', ts: '1795950000.000100', user: 'U_DAN', text: 'seeing 500s on /checkout since 11:02' });
    slack.seedMessage({ channel: 'C_OPS', ts: '1795950060.000200', user: 'U_ERIN', text: 'disk on node 3 at 97%' });
    slack.reset();
    await bot.client.messageShortcut({ callbackId: 'add_to_incident_timeline', userId: 'U_CAROL', messageTs: '1795950000.000100', messageText: 'seeing 500s on /checkout since 11:02', messageUser: 'U_DAN' });
    await waitForReply((t) => t.includes('message from @U_DAN: seeing 500s on /checkout since 11:02'));
    await slack.waitFor('reactions.add', (c) => c.body.timestamp === '1795950000.000100');

    const reaction = { type: 'reaction_added', user: 'U_CAROL', reaction: 'pushpin', item_user: 'U_ERIN', item: { type: 'message', channel: 'C_OPS', ts: '1795950060.000200' }, event_ts: '1795950100.000300' };
    await bot.client.event(reaction, { eventId: 'Ev1' });
    await waitForReply((t) => t.includes('message from @U_ERIN: disk on node 3 at 97%'));
    // Slack retries the same event, and a second person pins the same message: still one entry.
    await bot.client.event(reaction, { eventId: 'Ev1', retryNum: 1 });
    await bot.client.event({ ...reaction, user: 'U_BOB' }, { eventId: 'Ev2' });
    await bot.client.messageShortcut({ callbackId: 'add_to_incident_timeline', userId: 'U_BOB', messageTs: '1795950060.000200', messageText: 'disk on node 3 at 97%', messageUser: 'U_ERIN' });
    await slack.waitFor('chat.postEphemeral', (c) => String(c.body.text).includes('already in the incident timeline'));
    await sleep(300);
    expect(threadReplies().filter((c) => textOf(c).includes('disk on node 3 at 97%'))).toHaveLength(1);
    expect(slack.callsTo('reactions.add').filter((c) => c.body.timestamp === '1795950060.000200')).toHaveLength(1);
    // Other reactions are ignored.
    await bot.client.event({ ...reaction, reaction: 'eyes', item: { type: 'message', channel: 'C_OPS', ts: '1795950000.000999' } }, { eventId: 'Ev3' });
  });

  it('shapes the record: severity, commander, impact, cause, prevention, escalation', async () => {
    slack.reset();
    await bot.client.command('incident severity sev1');
    await slack.waitFor('chat.update', (c) => c.body.ts === rootTs && textOf(c).includes('Severity: SEV1'));
    await bot.client.command('incident commander <@U_BOB|bob>');
    await slack.waitFor('chat.update', (c) => c.body.ts === rootTs && textOf(c).includes('Commander: @U_BOB'));
    await bot.client.command('incident impact checkout p95 at 8 s for 25 minutes');
    await bot.client.command('incident cause autovacuum blocked by a forgotten transaction');
    await bot.client.command('incident prevention alert on idle in transaction > 5m');
    await bot.client.command('incident escalate 2');
    const escalation = await waitForReply((t) => t.includes('escalated to level 2 (database specialists)'));
    expect(JSON.stringify(escalation.body.blocks)).toContain('<!subteam^S_DBA>');
    await bot.client.command('incident escalate 3', { responseUrlId: 'esc3' });
    const refusal = await slack.waitFor('chat.postMessage', (c) => textOf(c).includes('No Slack user group is configured for level 3'));
    expect(refusal.body.thread_ts).toBeUndefined();
    await bot.client.command('incident status');
    const status = textOf(await slack.waitFor('chat.postMessage', (c) => textOf(c).includes('Open for')));
    expect(status).toContain('Severity: SEV1');
  });

  it('finds the open incident again after a restart', async () => {
    await bot.stop();
    bot = await start();
    await bot.client.command('connections', { userId: 'U_FRED' });
    await waitForReply((t) => t.includes('@U_FRED /recipedb connections'));
  });

  it('resolves with the document in the thread, a Markdown file, and the root marked resolved', async () => {
    slack.reset();
    await bot.client.command('incident resolve killed the blocking session and vacuumed', { userId: 'U_BOB' });
    const document = await waitForReply((t) => t.includes('Incident document: Checkout is slow'));
    const text = textOf(document);
    for (const section of ['Timeline', 'Impact', 'Root Cause', 'Resolution', 'Prevention']) expect(text).toContain(section);
    expect(text).toContain('checkout p95 at 8 s for 25 minutes');
    expect(text).toContain('killed the blocking session and vacuumed');

    const upload = await slack.waitFor('files.completeUploadExternal');
    expect(upload.body.thread_ts).toBe(rootTs);
    const markdown = slack.uploads.at(-1)!.body.toString('utf8');
    for (const section of ['## Timeline', '## Impact', '## Root Cause', '## Resolution', '## Prevention']) expect(markdown).toContain(section);
    for (const event of ['declared the incident', '/recipedb status', 'restarted pgbouncer on node 3', 'requested approval to terminate backend', 'approved the request', 'kill: 1 of 1 terminated', 'message from @U_DAN', 'escalated to level 2', 'Severity changed from sev2 to sev1', '/recipedb connections', 'resolved the incident']) {
      expect(markdown).toContain(event);
    }
    // Every event of the timeline is in the document.
    const { rows } = await bot.services.state.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM incident_events e JOIN incidents i ON i.id = e.incident_id WHERE i.channel = 'C_OPS'`,
    );
    expect(markdown.split('\n').filter((l) => /^- \d{4}-\d\d-\d\d /.test(l))).toHaveLength(rows[0]!.n);

    const root = await slack.waitFor('chat.update', (c) => c.body.ts === rootTs && textOf(c).includes('Resolved'));
    expect(textOf(root)).toMatch(/Status: Resolved after \d/);

    slack.reset();
    await bot.client.command('status');
    await slack.waitFor('chat.postMessage');
    await sleep(200);
    expect(slack.callsTo('chat.postMessage').filter((c: SlackCall) => c.body.thread_ts)).toHaveLength(0);
  });

  it('says so when there is no open incident, and checks its arguments', async () => {
    slack.reset();
    await bot.client.command('incident note hello');
    expect(textOf(await slack.waitFor('chat.postMessage'))).toContain('There is no open incident in this channel');
    await bot.client.command('incident severity sev9', { responseUrlId: 'sev9' });
    const post = await slack.waitForResponsePost((p) => p.id === 'sev9');
    expect(JSON.stringify(post.body)).toContain('severity must be one of sev1, sev2, sev3, sev4');
  });
});
