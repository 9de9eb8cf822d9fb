/**
 * A replica that dies mid-work (SIGKILL, out of memory, a lost node) says nothing on its way out:
 * its heartbeat just stops. The live replica then finishes what it can honestly finish: an approved
 * action it was running is reported as interrupted (nobody knows how far it got), and timeline
 * events it had claimed are posted after all. (Its scheduled backup: test/ops/backup/schedule.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/state/audit-log.js';
import { findOpenIncident } from '../../src/state/incidents.js';
import { decideApproval } from '../../src/state/approvals.js';
import { beat } from '../../src/state/replicas.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';

const DEAD = 'lost-node:4242:dead00';

describe('when another replica dies mid-work', () => {
  let bot: TestBot;
  let kube: FakeKube;

  beforeAll(async () => {
    kube = await startFakeKube();
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 1 });
    // A short TTL makes the sweeper, which also looks for interrupted actions, run every 500 ms.
    bot = await startTestBot({ kube, env: { APPROVERS: 'U_BOB', APPROVAL_TTL: '2s', REPLICA_TIMEOUT: '2s' } });
  });
  afterAll(async () => {
    await bot.stop();
    await kube.close();
  });

  /** An event the other replica claimed for posting, written claimed in one statement: a flush of this replica must not take it first. */
  const claimedEvent = (incidentId: number, text: string) =>
    bot.services.state.query(
      `INSERT INTO incident_events (incident_id, actor, kind, text, thread_ts, claimed_by) VALUES ($1, 'U_CAROL', 'note', $2, 'posting', $3)`,
      [incidentId, text, DEAD],
    );

  it('reports the approved action it was running as interrupted, once, on the request message and in the audit log', async () => {
    await bot.client.command('scale recipe-app 3', { userId: 'U_ALICE' });
    const posted = await bot.slack.waitFor('chat.postMessage', (c) => rendered(c).choices.some((x) => x.actionId === 'approval_approve'));
    const id = rendered(posted).choices.find((c) => c.actionId === 'approval_approve')?.value ?? '';
    // The dead replica won the click and started running it, then vanished.
    await beat(bot.services.state, DEAD);
    expect(await decideApproval(bot.services.state, id, 'approved', 'U_BOB', DEAD)).not.toBeNull();
    await bot.services.state.query(`UPDATE replicas SET seen_at = now() - interval '1 minute' WHERE instance = $1`, [DEAD]);

    const redrawn = await bot.slack.waitFor('chat.update', (c) => c.body.ts === tsOf(posted) && textOf(c).includes('interrupted'), 10_000);
    const seen = textOf(redrawn).replace(/\s+/g, ' ');
    expect(seen).toContain(`the bot replica running it (${DEAD}) stopped before it reported how it went`);
    expect(seen).toContain('before running it again');
    const audit = (await readAudit(bot.services.state, 50)).filter((e) => e.requestId === id).map((e) => e.kind);
    expect(audit).toEqual(['approval.requested', 'action.interrupted']);
    // Nothing was run again by this replica: the scale never reached the API.
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(1);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(bot.slack.callsTo('chat.update').filter((c) => c.body.ts === tsOf(posted) && textOf(c).includes('interrupted'))).toHaveLength(1);
  });

  it('posts the timeline events it had claimed but not posted', async () => {
    await bot.client.command('incident start "Replica lost"', { userId: 'U_ALICE', channelId: 'C_INC' });
    const root = await bot.slack.waitFor('chat.postMessage', (c) => textOf(c).includes('Incident: Replica lost'));
    const incident = await findOpenIncident(bot.services.state, 'C_INC');
    await claimedEvent(incident!.id, 'failover started by hand');

    await bot.client.command('incident note "pods are back"', { userId: 'U_ALICE', channelId: 'C_INC' });
    const note = await bot.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === tsOf(root) && textOf(c).includes('pods are back'));
    const thread = bot.slack.callsTo('chat.postMessage').filter((c) => c.body.thread_ts === tsOf(root)).map(textOf);
    const lost = thread.findIndex((t) => t.includes('failover started by hand'));
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThan(thread.findIndex((t) => t === textOf(note)));
  });

  it('leaves the work of a replica that still beats alone', async () => {
    const incident = await findOpenIncident(bot.services.state, 'C_INC');
    await beat(bot.services.state, DEAD);
    await claimedEvent(incident!.id, 'being posted elsewhere');
    await bot.client.command('incident note "still here"', { userId: 'U_ALICE', channelId: 'C_INC' });
    await bot.slack.waitFor('chat.postMessage', (c) => textOf(c).includes('still here'));
    expect(bot.slack.callsTo('chat.postMessage').some((c) => textOf(c).includes('being posted elsewhere'))).toBe(false);
  });
});
