import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { App, LogLevel, webApi, type BlockAction } from '@slack/bolt';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { slackClient } from './slack-client.js';
import { freePort } from './free-port.js';

let slack: FakeSlack;
let web: InstanceType<typeof webApi.WebClient>;

beforeAll(async () => {
  slack = await startFakeSlack();
  web = new webApi.WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterEach(() => slack.reset());
afterAll(() => slack.close());

describe('fake Slack Web API (driven by the real WebClient)', () => {
  it('records chat.postMessage with decoded blocks and answers with increasing ts', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }];
    const first = await web.chat.postMessage({ channel: 'C_OPS', text: 'hello', blocks });
    const second = await web.chat.postMessage({ channel: 'C_OPS', text: 'again' });

    expect(first.ok).toBe(true);
    expect(first.channel).toBe('C_OPS');
    expect(first.ts).toMatch(/^\d+\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));

    const call = await slack.waitFor('chat.postMessage');
    expect(call.token).toBe('xoxb-test');
    expect(call.body.blocks).toEqual(blocks);
    expect(call.body.text).toBe('hello');
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('answers chat.update and auth.test', async () => {
    const posted = await web.chat.postMessage({ channel: 'C_OPS', text: 'working…' });
    const updated = await web.chat.update({ channel: 'C_OPS', ts: posted.ts ?? '', text: 'done' });
    expect(updated).toMatchObject({ ok: true, channel: 'C_OPS', ts: posted.ts, text: 'done' });
    expect((await slack.waitFor('chat.update')).body).toMatchObject({ ts: posted.ts, text: 'done' });

    const auth = await web.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0TEST' });
  });

  it('failNext makes the next call of that method fail once', async () => {
    slack.failNext('chat.postMessage', 'channel_not_found');
    await expect(web.chat.postMessage({ channel: 'C_NOPE', text: 'x' })).rejects.toMatchObject({
      data: { ok: false, error: 'channel_not_found' },
    });
    await expect(web.chat.postMessage({ channel: 'C_OPS', text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('waitFor resolves on a later call and rejects with the recorded methods on timeout', async () => {
    const waiting = slack.waitFor('reactions.add', (c) => c.body.name === 'white_check_mark');
    await web.reactions.add({ channel: 'C_OPS', timestamp: '1.2', name: 'eyes' });
    await web.reactions.add({ channel: 'C_OPS', timestamp: '1.2', name: 'white_check_mark' });
    expect((await waiting).body.name).toBe('white_check_mark');

    await expect(slack.waitFor('chat.delete', undefined, 50)).rejects.toThrow(/reactions\.add, reactions\.add/);
  });

  it('accepts a files.uploadV2 round trip', async () => {
    const result = await web.filesUploadV2({ channel_id: 'C_OPS', filename: 'report.txt', content: 'hello file' });
    expect(result.ok).toBe(true);
    expect(slack.uploads).toHaveLength(1);
    expect(slack.uploads[0]?.body.toString()).toContain('hello file');
    const complete = await slack.waitFor('files.completeUploadExternal');
    expect(complete.body.channel_id).toBe('C_OPS');
    expect(Array.isArray(complete.body.files)).toBe(true);
    expect(slack.fileShares.at(-1)).toMatchObject({ channel: 'C_OPS', fileIds: [slack.uploads[0]?.fileId] });
  });

  it('plays the two-step upload as Slack does: announced length, bytes at the upload_url, then completion', async () => {
    // Completing a file whose bytes never arrived fails, as does one never announced.
    const announced = await web.files.getUploadURLExternal({ filename: 'chart.png', length: 4 });
    await expect(web.files.completeUploadExternal({ files: [{ id: announced.file_id as string }] })).rejects.toMatchObject({ data: { error: 'file_not_uploaded' } });
    await expect(web.files.completeUploadExternal({ files: [{ id: 'F_NEVER' }] })).rejects.toMatchObject({ data: { error: 'file_not_found' } });
    // The upload_url takes exactly the announced bytes.
    const url = announced.upload_url as string;
    expect((await fetch(url, { method: 'POST', body: 'toolong' })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', body: 'four' })).status).toBe(200);
    expect((await fetch(`${url}-unknown`, { method: 'POST', body: 'four' })).status).toBe(404);
    const done = await web.files.completeUploadExternal({ files: [{ id: announced.file_id as string, title: 'Chart' }], channel_id: 'C_OPS' });
    // Slack answers before it has processed the file; files.info knows its type a moment later.
    expect(done.files?.[0]).toMatchObject({ id: announced.file_id, name: 'chart.png', title: 'Chart', mimetype: '', size: 4 });
    expect((await web.files.info({ file: announced.file_id as string })).file).toMatchObject({ mimetype: '' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await web.files.info({ file: announced.file_id as string })).file).toMatchObject({ mimetype: 'image/png', channels: ['C_OPS'] });
    await expect(web.files.getUploadURLExternal({ filename: 'empty.png', length: 0 })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
  });

  it('publishes Home views and refuses what is not one', async () => {
    await web.views.publish({ user_id: 'U_BOB', view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] } });
    expect(slack.homeView('U_BOB')).toMatchObject({ type: 'home', blocks: [{ type: 'section' }] });
    const tooMany = Array.from({ length: 101 }, () => ({ type: 'divider' as const }));
    await expect(web.views.publish({ user_id: 'U_BOB', view: { type: 'home', blocks: tooMany } })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    expect(slack.homeView('U_CAROL')).toBeUndefined();
  });

  it('refuses a Home image block whose slack_file is unknown, not processed yet, not shared, deleted, or names both id and url', async () => {
    const image = (slack_file: Record<string, string>) => ({ type: 'home' as const, blocks: [{ type: 'image', alt_text: 'chart', slack_file }] });
    const refused = { data: { error: 'invalid_blocks' } };
    slack.setFileProcessingMs(300);
    try {
      await web.filesUploadV2({ channel_id: 'C_OPS', filename: 'chart.png', file: Buffer.from('png!') });
      const id = slack.fileShares.at(-1)!.fileIds[0]!;
      // Still being processed: refused, as Slack refuses a file it has not finished with.
      await expect(web.views.publish({ user_id: 'U_DAN', view: image({ id }) as never })).rejects.toMatchObject(refused);
      await new Promise((r) => setTimeout(r, 350));
      await web.views.publish({ user_id: 'U_DAN', view: image({ id }) as never });
      expect(slack.homeView('U_DAN')).toMatchObject({ blocks: [{ type: 'image', slack_file: { id } }] });
      await expect(web.views.publish({ user_id: 'U_DAN', view: image({ id: 'F_NEVER' }) as never })).rejects.toMatchObject(refused);
      await expect(web.views.publish({ user_id: 'U_DAN', view: image({ id, url: 'https://files.slack.com/x.png' }) as never })).rejects.toMatchObject(refused);

      // Uploaded without a channel: only the bot can see it.
      const unshared = await web.filesUploadV2({ filename: 'private.png', file: Buffer.from('png?') });
      const unsharedId = (unshared.files[0] as { files?: { id?: string }[] }).files?.[0]?.id as string;
      await new Promise((r) => setTimeout(r, 350));
      await expect(web.views.publish({ user_id: 'U_DAN', view: image({ id: unsharedId }) as never })).rejects.toMatchObject(refused);

      // Deleted: gone from files.info and from any view published after.
      await web.files.delete({ file: id });
      await expect(web.files.info({ file: id })).rejects.toMatchObject({ data: { error: 'file_not_found' } });
      await expect(web.views.publish({ user_id: 'U_DAN', view: image({ id }) as never })).rejects.toMatchObject(refused);
    } finally {
      slack.setFileProcessingMs(150);
    }
  });
});

describe('slackClient against a real Bolt HTTP receiver', () => {
  const signingSecret = 'test-signing-secret';
  let app: InstanceType<typeof App>;
  let client: ReturnType<typeof slackClient>;
  const seen: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    app = new App({
      token: 'xoxb-test',
      signingSecret,
      logLevel: LogLevel.ERROR, // the rejected-signature test would otherwise log warnings
      botId: 'BBOT',
      botUserId: 'UBOT',
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/recipedb', async ({ ack, command, respond }) => {
      await ack();
      seen.push(`command:${command.user_id}:${command.text}`);
      await respond({ text: `you said ${command.text}` });
    });
    app.action<BlockAction>('confirm_scale', async ({ ack, body, action, client: web }) => {
      await ack();
      const value = action.type === 'button' ? action.value : '';
      seen.push(`action:${body.user.id}:${value ?? ''}`);
      await web.chat.update({ channel: body.channel?.id ?? '', ts: body.container.message_ts as string, text: 'scaling' });
    });
    app.shortcut('explain', async ({ ack, shortcut }) => {
      await ack();
      if (shortcut.type === 'message_action') seen.push(`shortcut:${shortcut.message.text ?? ''}`);
    });
    app.event('app_mention', async ({ event }) => {
      seen.push(`mention:${event.text}`);
    });
    await app.start(port);
    client = slackClient({ eventsUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret, fakeSlack: slack });
  });
  afterAll(() => app.stop());

  it('delivers a signed slash command; respond() reaches the fake response_url', async () => {
    const res = await client.command('status', { responseUrlId: 'cmd-1' });
    expect(res.status).toBe(200);
    const post = await slack.waitForResponsePost((p) => p.id === 'cmd-1');
    expect(post.body.text).toBe('you said status');
    expect(seen).toContain('command:U_ALICE:status');
  });

  it('delivers a block action, a message shortcut and an event', async () => {
    expect((await client.blockAction({ actionId: 'confirm_scale', value: 'web:3', messageTs: '1700000000.000100' })).status).toBe(200);
    const update = await slack.waitFor('chat.update');
    expect(update.body).toMatchObject({ channel: 'C_OPS', ts: '1700000000.000100' });
    expect(seen).toContain('action:U_ALICE:web:3');

    const sc = await client.messageShortcut({ callbackId: 'explain', messageTs: '1.1', messageText: 'slow query', messageUser: 'U_BOB' });
    expect(sc.status).toBe(200);
    expect(seen).toContain('shortcut:slow query');

    const ev = await client.event({ type: 'app_mention', user: 'U_ALICE', text: '<@UBOT> hi', channel: 'C_OPS', ts: '1.3' }, { retryNum: 1 });
    expect(ev.status).toBe(200);
    await expect.poll(() => seen).toContain('mention:<@UBOT> hi');
  });

  it('rejects wrongly signed and stale requests', async () => {
    const body = 'command=%2Frecipedb&text=x';
    const bad = await client.raw(body, { ...client.signedHeaders(body), 'X-Slack-Signature': 'v0=deadbeef' });
    expect(bad.status).toBe(401);
    const stale = await client.raw(body, client.signedHeaders(body, Math.floor(Date.now() / 1000) - 600));
    expect(stale.status).toBe(401);
  });
});
