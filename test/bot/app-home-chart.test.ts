/**
 * The App Home's 24 h picture, through two replicas (two real Bolt apps, one state database, one
 * fake Slack that processes files a moment after their upload, as Slack does): opening the tab
 * answers at once and says the picture is on its way; one replica draws it, shares it in
 * HOME_CHART_CHANNEL with the two-step upload, waits for Slack to process it and publishes the
 * Home again with an image block naming it. Later openings show it at once; a stale one is drawn
 * again and the old file deleted; a refused or failed one is said, and the sparklines stay.
 */
import pg from 'pg';
import { PNG } from 'pngjs';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { STATE_SCHEMA } from '../../src/state/migrate.js';
import { startTestBot, TEST_BOT_TOKEN, type TestBot } from '../support/bot.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { ago, seedHistory } from '../support/history.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const CHARTS = 'C_CHARTS';

let slack: FakeSlack;
let a: TestBot;
let b: TestBot;
let state: pg.Pool;

interface ImageBlock {
  type: 'image';
  slack_file?: { id?: string };
  alt_text?: string;
  title?: { text?: string };
}

const viewOf = (call: SlackCall) => call.body.view as { blocks: unknown[] };
const imageIn = (call: SlackCall): ImageBlock | undefined => viewOf(call).blocks.find((x): x is ImageBlock => (x as { type?: string }).type === 'image');
const seen = (call: SlackCall): string => renderBlocks({ text: '', blocks: viewOf(call).blocks as Message['blocks'] }, { width: 300 }).text;
const publishes = (user: string) => slack.callsTo('views.publish').filter((c) => c.body.user_id === user);
const sharedCharts = () => slack.fileShares.filter((s) => s.channel === CHARTS);
const open = (bot: TestBot, user: string) =>
  bot.client.event({ type: 'app_home_opened', user, channel: `D_${user}`, tab: 'home', event_ts: `${Date.now() / 1000}` });
/** The Home as it was published last with the picture in it. */
const withPicture = (user: string, timeoutMs = 15_000) =>
  slack.waitFor('views.publish', (c) => c.body.user_id === user && c.response.ok === true && imageIn(c) !== undefined, timeoutMs);

beforeAll(async () => {
  slack = await startFakeSlack();
  const [databaseUrl, stateDatabaseUrl] = await Promise.all([createDemoTestDatabase(), createTestDatabase('state')]);
  const env = { HOME_CHART_CHANNEL: CHARTS };
  [a, b] = await Promise.all([startTestBot({ slack, databaseUrl, stateDatabaseUrl, env }), startTestBot({ slack, databaseUrl, stateDatabaseUrl, env })]);
  state = new pg.Pool({ connectionString: stateDatabaseUrl, max: 2, options: `-c search_path=${STATE_SCHEMA}` });
  // Six hours of a day that climbs to 90 connections of 100.
  await seedHistory(a.services.state, Array.from({ length: 360 }, (_, i) => ({ at: ago((360 - i) * 60_000), connections: 10 + Math.round(i / 4.5), maxConnections: 100 })));
});

afterAll(async () => {
  await state?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await slack?.close();
});

beforeEach(() => {
  slack.reset();
  // Slack takes a moment to process a file; a view naming it before then is refused.
  slack.setFileProcessingMs(400);
});

describe('the App Home picture', () => {
  it('answers at once, then shares one picture in HOME_CHART_CHANNEL and publishes the Home again with it', async () => {
    await open(a, 'U_BOB');
    const first = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_BOB', 10_000);
    expect(imageIn(first)).toBeUndefined();
    expect(seen(first)).toContain('The picture is being drawn: it shows here in a few seconds.');
    expect(seen(first)).toMatch(/connections\s+[▁▂▃▄▅▆▇█]+/);

    const shown = await withPicture('U_BOB');
    const [share] = sharedCharts();
    expect(sharedCharts()).toHaveLength(1);
    const fileId = share!.fileIds[0]!;
    const image = imageIn(shown)!;
    expect(image.slack_file).toEqual({ id: fileId });
    expect(image.alt_text).toMatch(/^Line chart of connections \(connections\) from \d{4}-\d{2}-\d{2} \d{2}:\d{2} – /);
    expect(image.title?.text).toMatch(/^Connections, 24 h to /);
    expect(seen(shown)).toMatch(/commits\/s\s+[▁▂▃▄▅▆▇█]+/);
    expect(seen(shown)).not.toContain('being drawn');
    // Slack was asked whether it had processed the file before a view named it.
    const infos = slack.callsTo('files.info').filter((c) => c.body.file === fileId);
    expect(infos.length).toBeGreaterThan(0);
    expect(infos.at(-1)!.at).toBeLessThanOrEqual(shown.at);
    expect(infos.at(-1)!.response).toMatchObject({ file: { mimetype: 'image/png' } });

    // The bytes that reached the upload_url are a picture of the stated size, not a blank one.
    const upload = slack.uploads.find((u) => u.fileId === fileId)!;
    const png = PNG.sync.read(upload.body);
    expect([png.width, png.height]).toEqual([1000, 450]);
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4 * 97) colours.add(png.data.readUInt32BE(i));
    expect(colours.size).toBeGreaterThan(3);
  });

  it('shows the same picture at once to whoever opens the tab next, on any replica, without drawing it again', async () => {
    const [row] = (await state.query<{ file_id: string }>('SELECT file_id FROM home_charts WHERE channel = $1', [CHARTS])).rows;
    await open(b, 'U_CAROL');
    const shown = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_CAROL', 10_000);
    expect(imageIn(shown)?.slack_file).toEqual({ id: row!.file_id });
    await new Promise((r) => setTimeout(r, 500));
    expect(publishes('U_CAROL')).toHaveLength(1);
    expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(0);
  });

  it('draws a picture older than 15 minutes again, shows the old one meanwhile and deletes it once the new one is up', async () => {
    const [old] = (await state.query<{ file_id: string }>(
      `UPDATE home_charts SET shared_at = shared_at - interval '16 minutes' WHERE channel = $1 RETURNING file_id`,
      [CHARTS],
    )).rows;
    await open(b, 'U_DAN');
    const first = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_DAN', 10_000);
    expect(imageIn(first)?.slack_file).toEqual({ id: old!.file_id });
    const shown = await withPicture('U_DAN').then(() =>
      slack.waitFor('views.publish', (c) => c.body.user_id === 'U_DAN' && imageIn(c)?.slack_file?.id !== old!.file_id, 15_000),
    );
    const fresh = sharedCharts()[0]!.fileIds[0]!;
    expect(imageIn(shown)?.slack_file).toEqual({ id: fresh });
    const deleted = await slack.waitFor('files.delete', (c) => c.body.file === old!.file_id, 5_000);
    expect(deleted.response.ok).toBe(true);
    expect(deleted.at).toBeGreaterThanOrEqual(shown.at);
  });

  it('draws one picture when two people open the tab at once on two replicas, and both Homes get it', async () => {
    await state.query('DELETE FROM home_charts');
    await Promise.all([open(a, 'U_ERIN'), open(b, 'U_FRANK')]);
    const [erin, frank] = await Promise.all([withPicture('U_ERIN'), withPicture('U_FRANK')]);
    expect(sharedCharts()).toHaveLength(1);
    expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(1);
    const id = sharedCharts()[0]!.fileIds[0]!;
    expect(imageIn(erin)?.slack_file).toEqual({ id });
    expect(imageIn(frank)?.slack_file).toEqual({ id });
  });

  it('takes over the drawing of a replica that died while drawing, once its claim is 2 minutes old', async () => {
    await state.query(
      `UPDATE home_charts SET shared_at = now() - interval '1 hour', drawing_by = 'dead-replica', drawing_since = now() - interval '90 seconds', viewers = '{U_GONE}'`,
    );
    await open(a, 'U_GRACE');
    await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_GRACE', 10_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(0);

    await state.query(`UPDATE home_charts SET drawing_since = now() - interval '121 seconds'`);
    await open(a, 'U_GRACE');
    const shown = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_GRACE' && imageIn(c)?.slack_file?.id === sharedCharts()[0]?.fileIds[0], 15_000);
    expect(sharedCharts()).toHaveLength(1);
    expect(shown.response.ok).toBe(true);
  });

  it('leaves out a picture Slack refuses (someone deleted it), says so, and draws a new one', async () => {
    // Three minutes after it was shared, someone deletes the bot's file in Slack.
    const [row] = (await state.query<{ file_id: string }>(
      `UPDATE home_charts SET shared_at = shared_at - interval '3 minutes' WHERE channel = $1 RETURNING file_id`,
      [CHARTS],
    )).rows;
    await new WebClient(TEST_BOT_TOKEN, { slackApiUrl: slack.apiUrl }).files.delete({ file: row!.file_id });
    slack.reset();

    await open(a, 'U_HEIDI');
    const refused = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_HEIDI', 10_000);
    expect(refused.response).toMatchObject({ ok: false, error: 'invalid_blocks' });
    const fallback = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_HEIDI' && c.response.ok === true, 10_000);
    expect(imageIn(fallback)).toBeUndefined();
    expect(seen(fallback)).toContain('The picture is being drawn');
    expect(seen(fallback)).toMatch(/connections\s+[▁▂▃▄▅▆▇█]+/);
    const shown = await withPicture('U_HEIDI');
    expect(imageIn(shown)?.slack_file).toEqual({ id: sharedCharts()[0]!.fileIds[0] });
  });

  it('does not share a picture at every opening when Slack will not show the ones it was just given', async () => {
    await state.query('DELETE FROM home_charts');
    slack.hideFilesOf(CHARTS);
    try {
      await open(a, 'U_KIM');
      const said = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_KIM' && c.response.ok === true && seen(c).includes('would not show'), 15_000);
      expect(imageIn(said)).toBeUndefined();
      expect(seen(said)).toContain('Slack would not show the picture it had just been given');
      await open(b, 'U_LEO');
      await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_LEO' && c.response.ok === true, 10_000);
      await new Promise((r) => setTimeout(r, 800));
      expect(sharedCharts()).toHaveLength(1);
    } finally {
      slack.hideFilesOf(undefined);
    }
  });

  it('says why a share failed, keeps the sparklines and does not try again for 5 minutes', async () => {
    await state.query('DELETE FROM home_charts');
    slack.failNext('files.completeUploadExternal', 'not_in_channel');
    await open(b, 'U_IVAN');
    const failed = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_IVAN' && seen(c).includes('could not be drawn'), 15_000);
    expect(imageIn(failed)).toBeUndefined();
    expect(seen(failed)).toMatch(/⚠️ The picture could not be drawn at .*: the bot is not in HOME_CHART_CHANNEL: invite it there\. It is tried again 5m later\./);
    expect(seen(failed)).toMatch(/connections\s+[▁▂▃▄▅▆▇█]+/);

    const uploads = slack.callsTo('files.getUploadURLExternal').length;
    await open(a, 'U_JUDY');
    const next = await slack.waitFor('views.publish', (c) => c.body.user_id === 'U_JUDY', 10_000);
    expect(seen(next)).toContain('could not be drawn');
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(uploads);

    // Five minutes on, it is tried again, and works.
    await state.query(`UPDATE home_charts SET failed_at = failed_at - interval '5 minutes 1 second'`);
    await open(a, 'U_JUDY');
    await withPicture('U_JUDY');
  });
});
