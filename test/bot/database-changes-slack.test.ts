/**
 * `resize`, `image` and `storage expand` through Slack: signed slash commands and button clicks on
 * the real Bolt receiver, the fake Kubernetes API behind the real client. What is asserted is what
 * the channel shows (the approval request, its outcome) and what the API reports afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { readServerVersion, type ServerVersion } from '../../src/ops/postgres/server-version.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import type { DraftMessage } from '../../src/bot/blocks.js';
import type { SlackCall } from '../support/fake-slack.js';
import { RECIPE_DATABASE_IMAGE, RECIPE_DATABASE_NAMESPACE as NS, addRecipeDatabase } from '../support/kube-fixtures.js';
import { messageOf } from '../support/slack-messages.js';
import { waitUntil } from '../ops/backup/backup-fixtures.js';

const wide = (call: SlackCall) => renderBlocks(messageOf(call), { width: 1_000 });
const textOf = (call: SlackCall): string => wide(call).text;
const isAnswer = (c: SlackCall) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && !textOf(c).includes('Checking ');

let kube: FakeKube;
let bot: TestBot;
let server: ServerVersion;

beforeAll(async () => {
  kube = await startFakeKube();
  // A class that does not allow expansion: resize and image do not care, `storage expand` must refuse.
  addRecipeDatabase(kube, { storageClass: 'fixed' });
  bot = await startTestBot({ kube, env: { APPROVERS: 'U_BOB', ROLLOUT_TIMEOUT: '2s' } });
  server = await readServerVersion(bot.services.db);
});

afterAll(async () => {
  await bot?.stop();
  await kube?.close();
});

const approvalCount = async (): Promise<number> => (await bot.services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests')).rows[0]?.n ?? 0;
const approvalPosted = (): boolean => bot.slack.calls.some((c) => c.method.startsWith('chat.') && wide(c).choices.some((choice) => choice.actionId === 'approval_approve'));
const patches = () => kube.requests.filter((r) => r.method === 'PATCH');

/** Alice's command; the request the channel shows, with its Approve button. */
async function requestChange(command: string): Promise<{ text: string; ts: string; id: string }> {
  bot.slack.reset();
  await bot.client.command(command, { userId: 'U_ALICE' });
  const call = await waitUntil(async () => bot.slack.calls.find(isAnswer), 20_000, `the answer to \`${command}\``);
  const approve = wide(call).choices.find((c) => c.actionId === 'approval_approve');
  if (!approve) throw new Error(`no approval request for \`${command}\`:\n${textOf(call)}`);
  const ts = call.method === 'chat.update' ? String(call.body.ts) : String(call.response.ts);
  return { text: textOf(call), ts, id: approve.value };
}

/** Bob clicks Approve; the request's message once it carries the outcome. */
async function approveAsBob(r: { ts: string; id: string }): Promise<string> {
  await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
  return textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
}

/** What a refused or mistyped command shows (the ephemeral usage answer, or the refusal in the channel), once it holds `sentence`. */
async function answerWithoutRequest(command: string, sentence: string): Promise<string> {
  bot.slack.reset();
  await bot.client.command(command, { userId: 'U_ALICE' });
  const seen = (): string[] => [
    ...bot.slack.responsePosts.map((p) => renderBlocks({ text: String(p.body.text ?? ''), blocks: (p.body.blocks ?? []) as DraftMessage['blocks'] }, { width: 1_000 }).text),
    ...bot.slack.calls.filter(isAnswer).map(textOf),
  ];
  return waitUntil(async () => seen().find((t) => t.includes(sentence)), 20_000, `"${sentence}" in the answer to \`${command}\` (seen: ${seen().join(' | ')})`);
}

describe('resize over Slack', () => {
  it('asks with current → new and the restart warning; Bob approves; the API reports the new resources and the pod ready', async () => {
    const requestsBefore = await approvalCount();
    const r = await requestChange('resize --memory 1Gi/2Gi');
    expect(r.text).toContain('Approval needed: resize');
    expect(r.text).toContain('memory: request 512Mi → 1Gi, limit 1Gi → 2Gi');
    expect(r.text).toMatch(/⚠ the database pod restarts: with 1 replica the database is DOWN during the rollout/);
    expect(await approvalCount()).toBe(requestsBefore + 1);
    expect(patches()).toEqual([]);

    const outcome = await approveAsBob(r);
    const pods = await bot.services.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
    const pod = pods?.items[0]?.metadata?.name ?? '?';
    expect(pods?.items).toHaveLength(1);
    expect(outcome).toContain(`Outcome: recipe-database/recipe-database runs with cpu 250m/1, memory 1Gi/2Gi (request/limit): pod ${pod} is ready and the server answers`);
    expect(kube.deployment(NS, 'recipe-database')?.containers[0]).toMatchObject({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    expect(kube.forbidden).toEqual([]);
  }, 60_000);

  it.each([
    ['resize --memory 1Tb', '"1Tb" is not a Kubernetes quantity.'],
    ['resize --cpu -1', '"-1" is not a Kubernetes quantity.'],
  ])('`%s` gets one sentence and no approval request', async (command, sentence) => {
    const before = await approvalCount();
    const patchesBefore = patches().length;
    const answer = await answerWithoutRequest(command, sentence);
    expect(answer).not.toContain('Approve');
    expect(approvalPosted()).toBe(false);
    expect(await approvalCount()).toBe(before);
    expect(patches()).toHaveLength(patchesBefore);
  });
});

describe('image over Slack', () => {
  it('`image postgres:latest` gets one sentence and no approval request', async () => {
    const before = await approvalCount();
    const answer = await answerWithoutRequest('image postgres:latest', '`image` cannot use the tag latest: it names no version, and moves — give the exact version, e.g. postgres:15.8.');
    expect(answer).not.toContain('Approve');
    expect(approvalPosted()).toBe(false);
    expect(await approvalCount()).toBe(before);
  });

  it('an image whose pod never becomes ready is rolled back; the outcome shows both rollouts and the old image runs', async () => {
    const broken = `postgres:${server.major}.98`;
    kube.setImageBehaviour(broken, 'not-ready');
    const revision = kube.deployment(NS, 'recipe-database')?.revision ?? 0;
    const r = await requestChange(`image ${broken}`);
    expect(r.text).toContain(`image ${RECIPE_DATABASE_IMAGE}`);
    expect(r.text).toContain(`→ ${broken}`);
    expect(r.text).toContain(`if the new pod is not ready within 2.0s, ${RECIPE_DATABASE_IMAGE} is put back and its rollout followed`);

    const outcome = await approveAsBob(r);
    expect(outcome).toMatch(/Outcome: FAILED, rolled back: the new pod did not become ready within 2\.0s/);
    expect(outcome).toContain(`${RECIPE_DATABASE_IMAGE} was put back and runs again`);
    // Both rollouts: the new image's (failed) and the old image's, as the undo of step 2.
    expect(outcome).toMatch(/3\. follow the rollout — FAILED after/);
    expect(outcome).toMatch(new RegExp(`↩ undo of step 2: put ${RECIPE_DATABASE_IMAGE} back — ok \\(.+\\) · rolled out in .+, pod recipe-database-\\S+ ready`));
    expect(kube.deployment(NS, 'recipe-database')).toMatchObject({ revision: revision + 2, containers: [expect.objectContaining({ image: RECIPE_DATABASE_IMAGE }), expect.anything()] });
    const pods = await bot.services.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
    expect(pods?.items.map((p) => p.spec?.containers[0]?.image)).toEqual([RECIPE_DATABASE_IMAGE]);
  }, 60_000);
});

describe('storage expand over Slack', () => {
  it('on a class that does not allow expansion: one clear sentence, no approval request, nothing patched', async () => {
    const before = await approvalCount();
    const patchesBefore = patches().length;
    const answer = await answerWithoutRequest(
      'storage expand 20Gi',
      'The storage class fixed of recipe-database/recipe-database-pvc does not allow volume expansion (allowVolumeExpansion is not true), so the claim cannot grow to 20Gi. Nothing was requested.',
    );
    expect(answer).not.toContain('Approve');
    expect(approvalPosted()).toBe(false);
    expect(await approvalCount()).toBe(before);
    expect(patches()).toHaveLength(patchesBefore);
    expect(kube.volumeClaim(NS, 'recipe-database-pvc')).toMatchObject({ requested: '10Gi' });
  });
});
