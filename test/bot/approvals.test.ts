import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';
import type { SlackCall } from '../support/fake-slack.js';

/** A session that runs `SELECT pg_sleep(600)`, as a runaway query would. */
class SleepingSession {
  readonly client: pg.Client;
  pid = 0;
  ended: Promise<unknown>;
  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url, application_name: 'recipe-app' });
    this.client.on('error', () => undefined);
    this.ended = Promise.resolve();
  }
  async start(): Promise<this> {
    await this.client.connect();
    this.pid = (await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    this.ended = this.client.query('SELECT pg_sleep(600)').then(
      () => 'finished',
      (e: Error) => e.message,
    );
    return this;
  }
  async stop(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

async function alive(url: string, pid: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
  } finally {
    await client.end();
  }
}

async function terminate(url: string, pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    while ((await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount) await sleep(20);
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('approvals, kill and scale', () => {
  let kube: FakeKube;
  let bot: TestBot;
  let databaseUrl: string;
  let stateDatabaseUrl: string;
  const sessions: SleepingSession[] = [];
  const env = { APPROVERS: 'U_BOB,U_CAROL', SCALABLE_DEPLOYMENTS: 'default/recipe-app,batch/report-worker' };

  beforeAll(async () => {
    kube = await startFakeKube();
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
    kube.addDeployment({ namespace: 'default', name: 'payments', replicas: 2 });
    databaseUrl = await createDemoTestDatabase();
    stateDatabaseUrl = await createTestDatabase('state');
    bot = await startTestBot({ env, kube, databaseUrl, stateDatabaseUrl });
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await bot.stop();
    await kube.close();
  });

  async function request(text: string, userId = 'U_ALICE'): Promise<{ call: SlackCall; ts: string; id: string }> {
    bot.slack.reset();
    await bot.client.command(text, { userId });
    const call = await bot.slack.waitFor('chat.postMessage');
    const approve = rendered(call).choices.find((c) => c.actionId === 'approval_approve');
    if (!approve) throw new Error(`no approval request was posted:\n${textOf(call)}`);
    return { call, ts: tsOf(call), id: approve.value };
  }

  const click = (r: { ts: string; id: string }, userId: string, actionId = 'approval_approve') =>
    bot.client.blockAction({ actionId, value: r.id, userId, messageTs: r.ts });

  const waitForOutcome = (ts: string) => bot.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), 10_000);

  async function sessionOlderThan(ms: number): Promise<SleepingSession> {
    const session = await new SleepingSession(databaseUrl).start();
    sessions.push(session);
    await sleep(ms);
    return session;
  }

  it('lists exactly the backends it will end, with buttons, and refuses self-approval and strangers', async () => {
    const runaway = await sessionOlderThan(1_200);
    const r = await request('kill --older-than 1s');
    const text = textOf(r.call);
    expect(text).toContain('Approval needed: kill');
    expect(text).toContain('Terminate 1 backend running longer than 1.0s');
    expect(text).toContain(`pid ${runaway.pid} · postgres · recipe-app · active`);
    expect(text).toContain('SELECT pg_sleep(600)');
    expect(text).toContain('Requested by: @U_ALICE');
    expect(text).toMatch(/\[1\] Approve {2}\[2\] Reject/);
    expect(rendered(r.call).choices[0]?.confirm).toContain('This will terminate 1 backend');

    await click(r, 'U_ALICE');
    const own = await bot.slack.waitFor('chat.postEphemeral');
    expect(own.body).toMatchObject({ user: 'U_ALICE', channel: 'C_OPS' });
    expect(String(own.body.text)).toContain('You cannot approve your own request');

    await click(r, 'U_EVE');
    const stranger = await bot.slack.waitFor('chat.postEphemeral', (c) => c.body.user === 'U_EVE');
    expect(String(stranger.body.text)).toContain('You cannot approve this');
    await sleep(200);
    expect(bot.slack.callsTo('chat.update')).toHaveLength(0);
    expect(await alive(databaseUrl, runaway.pid)).toBe(true);

    await click(r, 'U_BOB');
    const done = await waitForOutcome(r.ts);
    const doneText = textOf(done);
    expect(doneText).toContain('Approved by @U_BOB');
    expect(doneText).toContain('Outcome: 1 of 1 terminated');
    expect(doneText).toContain(`pid ${runaway.pid}: terminated`);
    expect(rendered(done).choices).toHaveLength(0);
    // The first update after the decision already has no buttons.
    const firstUpdate = bot.slack.callsTo('chat.update')[0]!;
    expect(rendered(firstUpdate).choices).toHaveLength(0);
    expect(String(await runaway.ended)).toMatch(/terminat/);
    expect(await alive(databaseUrl, runaway.pid)).toBe(false);

    const audit = (await readAudit(bot.services.state, 100)).filter((e) => e.requestId === r.id);
    expect(audit.map((e) => e.kind)).toEqual(['approval.requested', 'approval.approved', 'action.executed']);
    expect(audit[0]).toMatchObject({ actor: 'U_ALICE' });
    expect(audit[1]).toMatchObject({ actor: 'U_BOB' });
    expect(audit[2]?.details).toMatchObject({ requester: 'U_ALICE', approver: 'U_BOB' });
  });

  it('executes once when ten approve clicks arrive at once', async () => {
    const runaway = await sessionOlderThan(1_100);
    const r = await request(`kill ${runaway.pid}`);
    const clicks = await Promise.all(Array.from({ length: 10 }, (_, i) => click(r, i % 2 ? 'U_BOB' : 'U_CAROL')));
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    const done = await waitForOutcome(r.ts);
    expect(textOf(done)).toContain('Outcome: 1 of 1 terminated');
    await sleep(300);
    const audit = (await readAudit(bot.services.state, 200)).filter((e) => e.requestId === r.id);
    expect(audit.filter((e) => e.kind === 'approval.approved')).toHaveLength(1);
    expect(audit.filter((e) => e.kind === 'action.executed')).toHaveLength(1);
    const tooLate = bot.slack.callsTo('chat.postEphemeral');
    expect(tooLate).toHaveLength(9);
    expect(String(tooLate[0]?.body.text)).toMatch(/already approved by @?<@U_(BOB|CAROL)>/);
  });

  it('a backend that started after the request is never touched', async () => {
    const old = await sessionOlderThan(1_100);
    const r = await request('kill --older-than 1s');
    const newcomer = await sessionOlderThan(1_100);
    await click(r, 'U_CAROL');
    const done = textOf(await waitForOutcome(r.ts));
    expect(done).toContain(`pid ${old.pid}: terminated`);
    expect(done).not.toContain(`pid ${newcomer.pid}`);
    expect(await alive(databaseUrl, newcomer.pid)).toBe(true);
    expect(await alive(databaseUrl, old.pid)).toBe(false);
  });

  it('reports a backend that ended before approval, and cancels only the query with --cancel', async () => {
    const first = await sessionOlderThan(1_100);
    const r = await request(`kill ${first.pid} --cancel`);
    expect(textOf(r.call)).toContain(`Cancel the running query of backend ${first.pid}`);
    await click(r, 'U_BOB');
    const done = textOf(await waitForOutcome(r.ts));
    expect(done).toContain(`pid ${first.pid}: query cancelled`);
    expect(String(await first.ended)).toMatch(/cancel/);
    // The session itself survives a cancel.
    expect(await alive(databaseUrl, first.pid)).toBe(true);

    const second = await sessionOlderThan(1_100);
    const r2 = await request(`kill ${second.pid}`);
    // The session ends by itself before anyone approves.
    await terminate(databaseUrl, second.pid);
    await click(r2, 'U_BOB');
    expect(textOf(await waitForOutcome(r2.ts))).toContain(`pid ${second.pid}: had already ended`);
  });

  it('runs an approved action even when its message cannot be redrawn', async () => {
    const runaway = await sessionOlderThan(1_100);
    const r = await request(`kill ${runaway.pid}`);
    bot.slack.failNext('chat.update', 'message_not_found');
    await click(r, 'U_BOB');
    expect(textOf(await waitForOutcome(r.ts))).toContain(`pid ${runaway.pid}: terminated`);
    expect(await alive(databaseUrl, runaway.pid)).toBe(false);
  });

  it('reject and cancel remove the buttons and do nothing', async () => {
    const runaway = await sessionOlderThan(1_100);
    const r = await request(`kill ${runaway.pid}`);
    await click(r, 'U_CAROL', 'approval_reject');
    const rejected = await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts);
    expect(textOf(rejected)).toContain('Rejected by @U_CAROL');
    expect(rendered(rejected).choices).toHaveLength(0);
    await click(r, 'U_BOB');
    const late = await bot.slack.waitFor('chat.postEphemeral', (c) => c.body.user === 'U_BOB');
    expect(String(late.body.text)).toContain('already rejected');
    expect(await alive(databaseUrl, runaway.pid)).toBe(true);

    const r2 = await request(`kill ${runaway.pid}`);
    await click(r2, 'U_ALICE', 'approval_reject');
    expect(textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r2.ts))).toContain('Cancelled by the requester by @U_ALICE');
    expect(await alive(databaseUrl, runaway.pid)).toBe(true);
  });

  it('answers directly when there is nothing to kill', async () => {
    bot.slack.reset();
    await bot.client.command('kill --older-than 2h');
    const text = textOf(await bot.slack.waitFor('chat.postMessage'));
    expect(text).toContain('No queries or transactions have been running longer than 2h 0s'.replace(' 0s', '') );
  });

  it.each([
    ['scale payments 3', 'is not a deployment the bot may scale'],
    ['scale recipe-app -1', 'replicas must be a whole number from 0 to 50'],
    ['scale recipe-app abc', 'replicas must be a whole number from 0 to 50'],
    ['scale recipe-app 51', 'replicas must be a whole number from 0 to 50'],
    ['scale recipe-app', 'needs a deployment and a number of replicas'],
    ['kill abc', 'needs a pid'],
    ['kill --older-than soon', '--older-than needs a duration'],
  ])('refuses `%s` and creates no request', async (text, expected) => {
    const before = await bot.services.state.query('SELECT count(*)::int AS n FROM approval_requests');
    bot.slack.reset();
    const sent = await bot.client.command(text, { responseUrlId: 'refusal' });
    expect(sent.status).toBe(200);
    const answer = await Promise.race([
      bot.slack.waitFor('chat.postMessage').then(textOf),
      bot.slack.waitForResponsePost((p) => p.id === 'refusal').then((p) => JSON.stringify(p.body)),
    ]);
    expect(answer).toContain(expected);
    const after = await bot.services.state.query('SELECT count(*)::int AS n FROM approval_requests');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('scales an allowed deployment after approval and follows the rollout', async () => {
    kube.rolloutDelayMs = 600;
    const r = await request('scale recipe-app 5');
    expect(textOf(r.call)).toContain('default/recipe-app: 3 → 5 replicas');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    await click(r, 'U_BOB');
    const done = textOf(await waitForOutcome(r.ts));
    expect(done).toContain('Outcome: default/recipe-app now has 5 ready replicas');
    expect(kube.deployment('default', 'recipe-app')).toMatchObject({ spec: { replicas: 5 }, status: { readyReplicas: 5 } });
    const progress = bot.slack.callsTo('chat.update').map(textOf).filter((t) => t.includes('Scaling default/recipe-app to 5'));
    expect(progress.length).toBeGreaterThan(0);
    const patch = kube.requests.find((q) => q.method === 'PATCH' && q.path.endsWith('/deployments/recipe-app/scale'));
    expect(patch?.contentType).toContain('application/merge-patch+json');
    // deploy/'s Role in the application's namespace granted every call of the scale.
    expect(kube.forbidden).toEqual([]);
    kube.rolloutDelayMs = 0;
  });

  it('survives a bot restart between request and approval', async () => {
    const runaway = await sessionOlderThan(1_100);
    const r = await request(`kill ${runaway.pid}`);
    await bot.services.state.query('SELECT 1'); // let the listener finish storing the message ts
    await sleep(100);
    await bot.stop();
    bot = await startTestBot({ env, kube, databaseUrl, stateDatabaseUrl });
    await click(r, 'U_BOB');
    expect(textOf(await waitForOutcome(r.ts))).toContain(`pid ${runaway.pid}: terminated`);
  });

  it('shows every step in the audit command, newest first', async () => {
    bot.slack.reset();
    await bot.client.command('audit 100');
    const text = textOf(await bot.slack.waitFor('chat.postMessage'));
    const order = ['action.executed', 'approval.approved', 'approval.requested'].map((k) => text.indexOf(k));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).toContain('approval.rejected');
    expect(text).toContain('approval.cancelled');
  });
});

describe('approvals without approvers, and expiry', () => {
  it('refuses destructive commands when no approvers are configured', async () => {
    const bot = await startTestBot();
    try {
      await bot.client.command('kill --older-than 1m');
      const text = textOf(await bot.slack.waitFor('chat.postMessage'));
      expect(text).toContain('Destructive commands are disabled: no approvers are configured');
      const { rows } = await bot.services.state.query('SELECT count(*)::int AS n FROM approval_requests');
      expect(rows[0].n).toBe(0);
    } finally {
      await bot.stop();
    }
  });

  it('expires a request after APPROVAL_TTL, edits its message, and refuses a late click', async () => {
    const bot = await startTestBot({ env: { APPROVERS: 'U_BOB', APPROVAL_TTL: '1s' } });
    const session = await new SleepingSession(bot.databaseUrl).start();
    try {
      await sleep(1_100);
      await bot.client.command(`kill ${session.pid}`);
      const call = await bot.slack.waitFor('chat.postMessage');
      const ts = tsOf(call);
      const id = rendered(call).choices[0]!.value;
      const expired = await bot.slack.waitFor('chat.update', (c) => c.body.ts === ts, 5_000);
      expect(textOf(expired)).toContain('Expired — nobody decided in time; nothing was done');
      expect(rendered(expired).choices).toHaveLength(0);
      await bot.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: ts });
      const late = await bot.slack.waitFor('chat.postEphemeral');
      expect(String(late.body.text)).toContain('This request has expired');
      expect(await alive(bot.databaseUrl, session.pid)).toBe(true);
      const kinds = (await readAudit(bot.services.state, 50)).filter((e) => e.requestId === id).map((e) => e.kind);
      expect(kinds).toEqual(['approval.requested', 'approval.expired']);
    } finally {
      await session.stop();
      await bot.stop();
    }
  });
});
