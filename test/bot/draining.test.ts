/**
 * The drain in HTTP mode: while running work finishes, the endpoint stays up but answers new
 * commands and clicks with one sentence and starts nothing; readiness turns traffic away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTARTING } from '../../src/bot/draining.js';
import { findApproval } from '../../src/state/approvals.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';

describe('draining over HTTP', () => {
  let bot: TestBot;
  let kube: FakeKube;

  beforeAll(async () => {
    kube = await startFakeKube();
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 1 });
    bot = await startTestBot({ kube, env: { APPROVERS: 'U_BOB', SHUTDOWN_GRACE: '30s' } });
  });
  afterAll(async () => {
    await bot.services.close();
    await bot.slack.close();
    await kube.close();
  });

  it('refuses new commands and clicks, keeps a request pending, and stops once the running work is done', async () => {
    await bot.client.command('scale recipe-app 2', { userId: 'U_ALICE' });
    const request = await bot.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body.blocks ?? '').includes('approval_approve'));
    const value = /"value":"([^"]+)"/.exec(JSON.stringify(request.body.blocks))?.[1] ?? '';
    expect(value).not.toBe('');

    let finishWork = () => undefined as void;
    void bot.services.lifecycle.track(new Promise<void>((resolve) => (finishWork = resolve)));
    const drained = bot.bot.drain();
    bot.slack.reset();

    expect((await fetch(`${bot.baseUrl}/readyz`)).status).toBe(503);
    const refused = await bot.client.command('status');
    expect(refused.status).toBe(200);
    expect(refused.json).toMatchObject({ response_type: 'ephemeral', text: RESTARTING });

    const click = await bot.client.blockAction({ actionId: 'approval_approve', value, userId: 'U_BOB', messageTs: String(request.response.ts) });
    expect(click.status).toBe(200);
    const told = await bot.slack.waitFor('chat.postEphemeral');
    expect(told.body).toMatchObject({ user: 'U_BOB', channel: 'C_OPS' });
    expect(String(told.body.text)).toContain('restarting: your click was not taken');
    // The request is still open for another replica (or this one after its restart) to decide.
    expect((await findApproval(bot.services.state, value))?.status).toBe('pending');
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(bot.slack.callsTo('chat.update')).toHaveLength(0);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(1);

    finishWork();
    await expect(drained).resolves.toEqual({ unfinished: 0 });
    await expect(fetch(`${bot.baseUrl}/healthz`)).rejects.toThrow();
  });
});
