/**
 * Two bot processes sharing one state database, as the Deployment's two replicas run: Slack may send
 * any request to either, and the sweeper and the backup scheduler run in both. Every decision is
 * taken once, every message is drawn once, and an incident opened on one is continued on the other.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBackupFileName } from '../../src/ops/backup/backup-name.js';
import { readAudit } from '../../src/state/audit-log.js';
import { STATE_SCHEMA } from '../../src/state/migrate.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { backupIsWaiting, lockRecipes } from '../ops/backup/backup-fixtures.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (generously) until `read()` holds `count` calls, and returns them. */
async function waitForCount(read: () => SlackCall[], count: number, timeoutMs = 10_000): Promise<SlackCall[]> {
  const deadline = Date.now() + timeoutMs;
  while (read().length < count && Date.now() < deadline) await sleep(50);
  return read();
}

/** Both replicas, started side by side with the same environment; neither is left running if the other fails. */
async function startReplicas(slack: FakeSlack, env: Record<string, string>): Promise<[BotProcess, BotProcess]> {
  const started = await Promise.allSettled([startBotProcess({ slack, env }), startBotProcess({ slack, env })]);
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(running.map((bot) => bot.stop()));
    throw failed.reason;
  }
  return running as [BotProcess, BotProcess];
}

/** A pool on the state database, to read what the replicas stored there. */
function statePool(url: string): pg.Pool {
  return new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${STATE_SCHEMA}` });
}

/** How many button clicks this replica acknowledged, from its own /metrics. */
async function clicksAcked(bot: BotProcess): Promise<number> {
  const text = await (await fetch(`${bot.baseUrl}/metrics`)).text();
  return Number(/^recipedb_ops_ack_latency_seconds_count\{kind="action"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** A session running `SELECT pg_sleep(600)`, as a runaway query would. */
async function sleepingSession(url: string): Promise<{ pid: number; ended: Promise<string>; stop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'recipe-app' });
  client.on('error', () => undefined);
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const ended = client.query('SELECT pg_sleep(600)').then(
    () => 'finished',
    (e: Error) => e.message,
  );
  return { pid, ended, stop: () => client.end().catch(() => undefined) };
}

describe('two replicas: approvals, expiry and incidents', () => {
  let slack: FakeSlack;
  let kube: FakeKube;
  let state: pg.Pool;
  let databaseUrl: string;
  let a: BotProcess;
  let b: BotProcess;

  beforeAll(async () => {
    const [fakeSlack, fakeKube, operated, stateUrl] = await Promise.all([startFakeSlack(), startFakeKube(), createDemoTestDatabase(), createTestDatabase('state')]);
    slack = fakeSlack;
    kube = fakeKube;
    databaseUrl = operated;
    state = statePool(stateUrl);
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 1 });
    kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1 });
    [a, b] = await startReplicas(slack, {
      DATABASE_URL: databaseUrl,
      STATE_DATABASE_URL: stateUrl,
      KUBECONFIG: kube.kubeconfigPath,
      APPROVERS: 'U_BOB',
      // Short enough to watch a request expire, long enough to click one in time on a busy machine.
      APPROVAL_TTL: '3s',
    });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([state?.end(), kube?.close(), slack?.close()]);
  });

  /** Calls to `method` made after the `from`-th recorded call. */
  const callsSince = (from: number, method: string): SlackCall[] => slack.calls.slice(from).filter((c) => c.method === method);

  async function request(via: BotProcess, text: string, expected: string): Promise<{ ts: string; id: string }> {
    await via.client.command(text, { userId: 'U_ALICE', channelId: 'C_OPS' });
    const call = await slack.waitFor('chat.postMessage', (c) => textOf(c).includes(expected), 10_000);
    const approve = rendered(call).choices.find((c) => c.actionId === 'approval_approve');
    if (!approve) throw new Error(`no approval request was posted:\n${textOf(call)}`);
    return { ts: tsOf(call), id: approve.value };
  }

  const click = (via: BotProcess, r: { ts: string; id: string }) =>
    via.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', channelId: 'C_OPS', messageTs: r.ts });

  const updatesOf = (ts: string) => slack.callsTo('chat.update').filter((c) => c.body.ts === ts);

  const auditOf = async (id: string) => (await readAudit(state, 200, id)).map((e) => e.kind);

  it('scales once when the approver clicks on both replicas at once', async () => {
    const r = await request(a, 'scale recipe-app 3', 'default/recipe-app: 1 → 3 replicas');
    const from = slack.calls.length;
    const [ackedByA, ackedByB] = await Promise.all([clicksAcked(a), clicksAcked(b)]);
    const clicks = await Promise.all([a, b, a, b, a, b].map((via) => click(via, r)));
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 200, 200, 200, 200]);

    const done = await slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 15_000);
    expect(textOf(done)).toContain('Outcome: default/recipe-app now has 3 ready replicas');
    expect(textOf(done)).toContain('Approved by @U_BOB');
    const tooLate = await waitForCount(() => callsSince(from, 'chat.postEphemeral'), 5);
    for (const late of tooLate) {
      expect(late.body).toMatchObject({ user: 'U_BOB', channel: 'C_OPS' });
      expect(String(late.body.text)).toMatch(/This request was already approved by @?<@U_BOB>/);
    }
    // Both replicas took their share of the clicks.
    expect([(await clicksAcked(a)) - ackedByA, (await clicksAcked(b)) - ackedByB]).toEqual([3, 3]);

    await sleep(500);
    expect(kube.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/deployments/recipe-app/scale'))).toHaveLength(1);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    expect(updatesOf(r.ts).filter((c) => textOf(c).includes('Outcome:'))).toHaveLength(1);
    // Only the replica that won the decision draws the message: no update tells another story.
    expect(updatesOf(r.ts).map(textOf).filter((t) => !t.includes('Approved by @U_BOB'))).toEqual([]);
    expect(callsSince(from, 'chat.postEphemeral')).toHaveLength(5);
    expect(await auditOf(r.id)).toEqual(['approval.requested', 'approval.approved', 'action.executed']);
  });

  it('ends a runaway session once when the kill is approved on both replicas', async () => {
    const session = await sleepingSession(databaseUrl);
    try {
      const r = await request(b, `kill ${session.pid}`, `Terminate backend ${session.pid}`);
      const from = slack.calls.length;
      await Promise.all([a, b, b, a].map((via) => click(via, r)));
      const done = await slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 15_000);
      expect(textOf(done)).toContain('Outcome: 1 of 1 terminated');
      expect(await session.ended).toMatch(/terminat/);
      await waitForCount(() => callsSince(from, 'chat.postEphemeral'), 3);
      await sleep(300);
      expect(updatesOf(r.ts).filter((c) => textOf(c).includes('Outcome:'))).toHaveLength(1);
      expect(callsSince(from, 'chat.postEphemeral')).toHaveLength(3);
      expect(await auditOf(r.id)).toEqual(['approval.requested', 'approval.approved', 'action.executed']);
    } finally {
      await session.stop();
    }
  });

  it('expires a request once although both replicas sweep', async () => {
    const r = await request(a, 'scale recipe-app 4', 'default/recipe-app: 3 → 4 replicas');
    const expired = await slack.waitFor('chat.update', (c) => c.body.ts === r.ts, 10_000);
    expect(textOf(expired)).toContain('Expired — nobody decided in time; nothing was done');
    expect(rendered(expired).choices).toHaveLength(0);
    // Each replica sweeps every 750 ms: give both several more turns.
    await sleep(2_000);
    expect(updatesOf(r.ts)).toHaveLength(1);
    expect(await auditOf(r.id)).toEqual(['approval.requested', 'approval.expired']);
    const { rows } = await state.query<{ status: string }>('SELECT status FROM approval_requests WHERE id = $1', [r.id]);
    expect(rows).toEqual([{ status: 'expired' }]);

    const from = slack.calls.length;
    await Promise.all([click(a, r), click(b, r)]);
    const late = await waitForCount(() => callsSince(from, 'chat.postEphemeral'), 2);
    for (const answer of late) expect(String(answer.body.text)).toContain('This request has expired');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
  });

  it('shares an incident: opened on one replica, continued and resolved across both', async () => {
    const inIncident = { channelId: 'C_INC' };
    await a.client.command('incident start Checkout slow', { userId: 'U_ALICE', ...inIncident });
    const root = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_INC' && !c.body.thread_ts && textOf(c).includes('Incident: Checkout slow'), 10_000);
    const rootTs = tsOf(root);
    const replies = () => slack.callsTo('chat.postMessage').filter((c) => c.body.channel === 'C_INC' && c.body.thread_ts === rootTs);
    const reply = (text: string) => slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_INC' && c.body.thread_ts === rootTs && textOf(c).includes(text), 10_000);
    await reply('declared the incident "Checkout slow"');

    await b.client.command('incident note replica B saw the lock pile-up at 11:02', { userId: 'U_CAROL', ...inIncident });
    await reply('replica B saw the lock pile-up at 11:02');

    await b.client.command('incident status', { userId: 'U_CAROL', ...inIncident });
    const status = textOf(await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_INC' && textOf(c).includes('Open for'), 10_000));
    expect(status).toContain('Checkout slow');
    expect(status).toContain('replica B saw the lock pile-up');

    await b.client.command('incident start Another thing', { userId: 'U_CAROL', ...inIncident });
    const refused = textOf(await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_INC' && textOf(c).includes('already open'), 10_000));
    expect(refused).toContain('An incident is already open in this channel: Checkout slow');
    const open = await state.query<{ title: string }>(`SELECT title FROM incidents WHERE channel = 'C_INC' AND status = 'open'`);
    expect(open.rows).toEqual([{ title: 'Checkout slow' }]);

    // Commands on both replicas at once: each enters the thread once.
    await Promise.all([
      b.client.command('status', { userId: 'U_CAROL', ...inIncident }),
      a.client.command('connections', { userId: 'U_DAN', ...inIncident }),
      b.client.command('locks', { userId: 'U_ERIN', ...inIncident }),
    ]);
    await Promise.all([reply('@U_CAROL /recipedb status'), reply('@U_DAN /recipedb connections'), reply('@U_ERIN /recipedb locks')]);

    await a.client.command('incident resolve killed the blocking session', { userId: 'U_ALICE', ...inIncident });
    const document = textOf(await reply('Incident document: Checkout slow'));
    expect(document).toContain('replica B saw the lock pile-up at 11:02');
    expect(document).toContain('/recipedb status');
    expect(document).toContain('killed the blocking session');
    const upload = await slack.waitFor('files.completeUploadExternal', (c) => c.body.thread_ts === rootTs, 10_000);
    expect(upload.body.channel_id).toBe('C_INC');
    expect(slack.uploads.at(-1)?.body.toString('utf8')).toContain('replica B saw the lock pile-up at 11:02');

    await sleep(300);
    const lines = replies().map(textOf).filter((t) => !t.includes('Incident document'));
    for (const once of ['declared the incident', 'replica B saw the lock pile-up', '/recipedb status', '/recipedb connections', '/recipedb locks', 'resolved the incident']) {
      expect(lines.filter((t) => t.includes(once)), once).toHaveLength(1);
    }
    // Every timeline event was posted, and by exactly one replica.
    const { rows } = await state.query<{ n: number; posted: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT thread_ts) FILTER (WHERE thread_ts NOT IN ('posting'))::int AS posted
         FROM incident_events e JOIN incidents i ON i.id = e.incident_id WHERE i.channel = 'C_INC'`,
    );
    expect(rows[0]!.posted).toBe(rows[0]!.n);
    expect(lines).toHaveLength(rows[0]!.n);
  });

  it('stayed within deploy/\'s RBAC on both replicas', () => {
    expect(kube.forbidden).toEqual([]);
  });
});

/**
 * Two replicas with a daily BACKUP_SCHEDULE slot at this very minute: each ticks once as it starts,
 * finds the slot due (within its grace period) and tries to take it; the next slot is tomorrow.
 * `beforeStart` runs once the databases exist and before the replicas start.
 */
interface BackupPair {
  slack: FakeSlack;
  state: pg.Pool;
  operated: string;
  dir: string;
  slotAt: Date;
  replicas: BotProcess[];
}

function backupPair(env: Record<string, string>, beforeStart?: (operated: string) => Promise<void>): BackupPair {
  const pair = { replicas: [] } as unknown as BackupPair;
  beforeAll(async () => {
    const [slack, operated, stateUrl, dir] = await Promise.all([
      startFakeSlack(),
      createDemoTestDatabase(),
      createTestDatabase('state'),
      mkdtemp(path.join(os.tmpdir(), 'recipedb-two-replicas-')),
    ]);
    Object.assign(pair, { slack, operated, dir, state: statePool(stateUrl) });
    await beforeStart?.(operated);
    const now = new Date();
    pair.slotAt = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    pair.replicas = await startReplicas(slack, {
      DATABASE_URL: operated,
      STATE_DATABASE_URL: stateUrl,
      BACKUP_SCHEDULE: `${now.getUTCMinutes()} ${now.getUTCHours()} * * *`,
      BACKUP_DIR: dir,
      OPS_CHANNEL: 'C_OPS',
      ...env,
    });
  });
  afterAll(async () => {
    await Promise.all(pair.replicas.map((bot) => bot.stop()));
    await Promise.all([pair.state?.end(), pair.slack?.close()]);
    if (pair.dir) await rm(pair.dir, { recursive: true, force: true });
  });
  return pair;
}

describe('two replicas: scheduled backups', () => {
  const pair = backupPair({});

  it('takes the slot on one replica only: one file, one report, one claim', async () => {
    const report = await pair.slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scheduled backup'), 30_000);
    expect(textOf(report)).toMatch(/Scheduled backup `?recipe-database-backup-[\d_-]+\.sql\.gz`? written/);
    const instances = await Promise.all(pair.replicas.map(async (bot) => String((await bot.waitForLog((l) => l.msg.startsWith('scheduled backups on'))).instance)));
    expect(new Set(instances).size).toBe(2);
    // The replica that lost the claim has long had its turn by now.
    await sleep(1_500);
    await Promise.all(pair.replicas.map((bot) => bot.stop()));

    const { rows } = await pair.state.query<{ slot: Date; claimed_by: string; outcome: string; detail: { name: string } }>('SELECT slot, claimed_by, outcome, detail FROM backup_slots');
    expect(rows).toHaveLength(1);
    const [slot] = rows as [(typeof rows)[number]];
    expect(slot.slot).toEqual(pair.slotAt);
    expect(slot.outcome).toBe('ok');
    expect(instances).toContain(slot.claimed_by);
    expect((await readdir(pair.dir)).filter(isBackupFileName)).toEqual([slot.detail.name]);
    const reports = pair.slack.callsTo('chat.postMessage').filter((c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scheduled backup'));
    expect(reports).toHaveLength(1);
    expect(textOf(reports[0]!)).toContain(slot.detail.name);
    expect(pair.replicas.map((bot) => bot.logs.filter((l) => l.msg === 'scheduled backup starting').length).sort()).toEqual([0, 1]);
    expect((await readAudit(pair.state, 50)).filter((e) => e.action === 'backup.scheduled')).toHaveLength(1);
  });
});

describe('two replicas: one is killed in the middle of the scheduled backup', () => {
  let lock: { release(): Promise<void> } | undefined;
  // The first replica's backup waits behind this lock, so that it is surely still running when it is killed.
  const pair = backupPair({ REPLICA_TIMEOUT: '2s' }, async (operated) => {
    lock = await lockRecipes(operated);
  });
  afterAll(async () => {
    await lock?.release();
  });

  it('the survivor takes the slot over at its next tick and backs up; one file, one report', async () => {
    await backupIsWaiting(pair.operated);
    const { rows } = await pair.state.query<{ claimed_by: string }>('SELECT claimed_by FROM backup_slots WHERE finished_at IS NULL');
    expect(rows).toHaveLength(1);
    const claimer = rows[0]!.claimed_by;
    const victim = pair.replicas.find((bot) => claimer.split(':').at(-2) === String(bot.pid));
    const survivor = pair.replicas.find((bot) => bot !== victim);
    if (!victim || !survivor) throw new Error(`no replica with the claimer's pid: ${claimer}`);

    victim.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await lock?.release();
    lock = undefined;

    // The survivor ticks every 30 s on the clock: within one tick it sees the claimer silent.
    const report = await pair.slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scheduled backup'), 50_000);
    expect(textOf(report)).toMatch(/Scheduled backup `?recipe-database-backup-[\d_-]+\.sql\.gz`? written/);
    const taking = await survivor.waitForLog((l) => l.msg.startsWith('taking over the scheduled backup'));
    expect(taking.msg).toContain(`the replica that took it (${claimer}) stopped before finishing it`);

    const slot = (await pair.state.query<{ claimed_by: string; outcome: string; detail: { name: string } }>('SELECT claimed_by, outcome, detail FROM backup_slots')).rows;
    expect(slot).toHaveLength(1);
    expect(slot[0]).toMatchObject({ outcome: 'ok' });
    expect(slot[0]!.claimed_by).not.toBe(claimer);
    // The killed replica's temporary file went with it: the survivor cleared it under the backup lock.
    expect(await readdir(pair.dir)).toEqual(expect.arrayContaining([slot[0]!.detail.name]));
    expect((await readdir(pair.dir)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect((await readdir(pair.dir)).filter(isBackupFileName)).toEqual([slot[0]!.detail.name]);
    expect(pair.slack.callsTo('chat.postMessage').filter((c) => c.body.channel === 'C_OPS')).toHaveLength(1);
  }, 90_000);
});
