/**
 * History on Slack, through the real Bolt receiver and the real Web API client against the fake
 * Slack: `chart` uploads its PNG with the two-step API (the bytes that reach the upload_url are
 * the picture; the completion names the channel and carries the answer's blocks), and the App
 * Home tab shows the verdict and a pending approval whose Approve button works from there.
 */
import pg from 'pg';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { ago, seedHistory } from '../support/history.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';

let bot: TestBot;
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  bot = await startTestBot({ databaseUrl, env: { APPROVERS: 'U_BOB' } });
  await seedHistory(
    bot.services.state,
    Array.from({ length: 240 }, (_, i) => ({ at: ago((240 - i) * 60_000), connections: 10 + (i % 30), maxConnections: 100, longestTransactionS: i % 50 })),
  );
});

afterAll(async () => {
  await bot.stop();
});

/** What a view or a message shows, as the console would render it. */
const seen = (blocks: unknown): string => renderBlocks({ text: '', blocks: blocks as Message['blocks'] }).text;

describe('chart on Slack', () => {
  it('uploads the PNG with getUploadURLExternal, the bytes to the upload_url, then completeUploadExternal into the channel', async () => {
    bot.slack.reset();
    await bot.client.command('chart connections --since 4h', { channelId: 'C_OPS' });
    const complete = await bot.slack.waitFor('files.completeUploadExternal', undefined, 10_000);

    const [announce] = bot.slack.callsTo('files.getUploadURLExternal');
    const [upload] = bot.slack.uploads;
    expect(upload).toBeDefined();
    expect(announce?.body.filename).toMatch(/^recipedb-connections-\d{8}-\d{4}Z\.png$/);
    expect(Number(announce?.body.length)).toBe(upload!.body.length);
    expect(announce?.body.alt_text).toMatch(/^Line chart of connections \(connections\) from /);
    // The bytes that reached the upload_url are the picture.
    const image = PNG.sync.read(upload!.body);
    expect([image.width, image.height]).toEqual([1000, 450]);
    expect(upload!.fileId).toBe(announce?.response.file_id);

    expect(complete.body.channel_id).toBe('C_OPS');
    expect(complete.body.files).toEqual([{ id: upload!.fileId, title: expect.stringMatching(/^Connections, \d{4}-\d{2}-\d{2} \d{2}:\d{2} – /) }]);
    const shown = seen(complete.body.blocks);
    expect(shown).toContain('Connections — last 4h');
    expect(shown).toContain('80% of max_connections (80 of 100)');
    expect(shown).toMatch(/[▁▂▃▄▅▆▇█]{30,}/);
    // One message: the file share carries the answer; nothing else was posted.
    expect(bot.slack.fileShares).toEqual([expect.objectContaining({ channel: 'C_OPS', fileIds: [upload!.fileId] })]);
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('posts the answer without the picture, saying why, when the upload fails', async () => {
    bot.slack.reset();
    bot.slack.failNext('files.getUploadURLExternal', 'missing_scope');
    await bot.client.command('chart longest-tx', { channelId: 'C_OPS' });
    const posted = await bot.slack.waitFor('chat.postMessage', undefined, 10_000);
    const text = textOf(posted);
    expect(text).toContain('Longest open transaction — last 1d');
    expect(text).toContain('The picture could not be uploaded');
    expect(text).toContain('missing_scope');
    expect(bot.slack.uploads).toHaveLength(0);
  });
});

describe('the App Home tab', () => {
  it('shows the verdict and a pending approval whose Approve button, clicked in Home, runs the action', async () => {
    const session = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
    session.on('error', () => undefined);
    await session.connect();
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const ended = session.query('SELECT pg_sleep(600)').then(() => 'finished', (e: Error) => e.message);
    try {
      bot.slack.reset();
      await bot.client.command(`kill ${pid}`, { userId: 'U_ALICE', channelId: 'C_OPS' });
      const requestCall = await bot.slack.waitFor('chat.postMessage', (c) => textOf(c).includes('Approval needed'), 10_000);
      const requestTs = tsOf(requestCall);
      const id = rendered(requestCall).choices.find((c) => c.actionId === 'approval_approve')!.value;

      // Bob opens the Home tab.
      await bot.client.event({ type: 'app_home_opened', user: 'U_BOB', channel: 'D_BOB', tab: 'home', event_ts: `${Date.now() / 1000}` });
      await bot.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_BOB', 10_000);
      const home = bot.slack.homeView('U_BOB')!;
      const home1 = renderBlocks({ text: '', blocks: home.blocks as Message['blocks'] });
      expect(home1.text).toContain('Recipe Database');
      expect(home1.text).toMatch(/(OK|WARN|DOWN) — /);
      expect(home1.text).toContain('Waiting for approval (1)');
      expect(home1.text).toContain(`kill: terminate`);
      expect(home1.text).toContain('Alerts firing\nno alert source');
      expect(home1.text).toContain('Last backup');
      expect(home1.text).toMatch(/connections\s+[▁▂▃▄▅▆▇█]+/);
      // Without HOME_CHART_CHANNEL there is no picture to share: the Home says what to set.
      expect(home1.text).toContain('Set HOME_CHART_CHANNEL for a picture here.');
      expect(home.blocks as { type: string }[]).not.toContainEqual(expect.objectContaining({ type: 'image' }));
      expect(home1.choices.map((c) => [c.actionId, c.value])).toEqual([['approval_approve', id], ['approval_reject', id]]);

      // Alice, the requester, tries to approve from her Home: told in her Home (there is no channel), nothing done.
      await bot.client.homeBlockAction({ actionId: 'approval_approve', value: id, userId: 'U_ALICE' });
      const refused = await bot.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_ALICE', 10_000);
      expect(seen((refused.body.view as { blocks: unknown }).blocks)).toContain('You cannot approve your own request');
      expect(bot.slack.callsTo('chat.postEphemeral')).toHaveLength(0);

      // Bob approves in his Home: the backend is ended, the channel message is redrawn, his Home says so.
      await bot.client.homeBlockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', blocks: home.blocks as unknown[] });
      const outcome = await bot.slack.waitFor('chat.update', (c) => c.body.ts === requestTs && textOf(c).includes('Outcome:'), 10_000);
      expect(outcome.body.channel).toBe('C_OPS');
      expect(textOf(outcome)).toContain('Approved by @U_BOB');
      expect(String(await ended)).toMatch(/terminat/);
      const after = await bot.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_BOB' && seen((c.body.view as { blocks: unknown }).blocks).includes('You approved kill'), 10_000);
      const afterText = seen((after.body.view as { blocks: unknown }).blocks);
      expect(afterText).toContain('Waiting for approval\nnothing');
      // Once the action ran, the Home says how it went.
      const final = await bot.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_BOB' && /You approved kill \(apr_\w+\): done — /.test(seen((c.body.view as { blocks: unknown }).blocks)), 10_000);
      expect(seen((final.body.view as { blocks: unknown }).blocks)).toContain('1 of 1 terminated');
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('draws nothing for the Messages tab', async () => {
    bot.slack.reset();
    await bot.client.event({ type: 'app_home_opened', user: 'U_CAROL', channel: 'D_CAROL', tab: 'messages', event_ts: `${Date.now() / 1000}` });
    await new Promise((r) => setTimeout(r, 300));
    expect(bot.slack.callsTo('views.publish').filter((c) => c.body.user_id === 'U_CAROL')).toHaveLength(0);
  });
});
