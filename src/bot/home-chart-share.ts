/**
 * Shares the App Home's 24 h picture in HOME_CHART_CHANNEL once this replica has claimed it
 * (handlers/home-chart.ts), waits until Slack has processed the file (before that an image block
 * naming it is refused), stores it, deletes the picture it replaces, and publishes again the Home
 * of everyone who opened the tab meanwhile, on any replica.
 *
 *   const share = homeChartSharing(app.client, services, publish);
 *   await share('U_BOB'); // after claimHomeChartDrawing said 'draw'
 */
import type { WebClient } from '@slack/web-api';
import type { Services } from '../context.js';
import { drawHomeChart, failHomeChartDrawing, storeHomeChart, type HomeChartDrawn } from '../handlers/home-chart.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';

/** Slack usually processes a PNG in a second or two; past this the attempt fails and is retried later. */
const PROCESSING_DEADLINE_MS = 20_000;

export function homeChartSharing(client: WebClient, services: Services, publish: (userId: string) => Promise<void>): (userId: string) => Promise<void> {
  const { log } = services;
  const scrub = createScrubber(services.config.secrets);
  const channel = services.config.history.homeChartChannel;
  const republish = (viewers: readonly string[]) => Promise.all(viewers.map((viewer) => publish(viewer)));
  const remove = (fileId: string) =>
    client.files.delete({ file: fileId }).catch((error: unknown) => log.warn({ err: error, file: fileId }, 'could not delete a Home picture the bot shared'));

  return async (userId) => {
    if (channel === undefined) return;
    const drawn = await drawHomeChart(services, userId);
    if (drawn.kind === 'failed') {
      await republish(drawn.viewers);
      return;
    }
    let fileId: string | undefined;
    try {
      fileId = await share(client, channel, drawn);
      await processed(client, fileId, channel);
    } catch (error) {
      log.warn({ err: error, channel }, 'could not share the App Home picture');
      if (fileId !== undefined) await remove(fileId);
      await republish(await failHomeChartDrawing(services, scrub(shareFailure(error))));
      return;
    }
    const done = await storeHomeChart(services, { ...drawn, fileId });
    if (!done.stored) {
      // Another replica took the claim over (this one was too slow): its picture is the one shown.
      await remove(fileId);
      return;
    }
    await republish(done.viewers);
    if (done.previousFileId !== null && done.previousFileId !== fileId) await remove(done.previousFileId);
  };
}

/** Slack's error codes as what to do about them. */
const SHARE_ERRORS: Record<string, string> = {
  not_in_channel: 'the bot is not in HOME_CHART_CHANNEL: invite it there',
  channel_not_found: 'Slack does not know HOME_CHART_CHANNEL, or the bot cannot see it',
  is_archived: 'HOME_CHART_CHANNEL is archived',
  missing_scope: 'the app lacks the files:write or files:read scope: reinstall it with manifest.yml',
};

function shareFailure(error: unknown): string {
  const code = (error as { data?: { error?: unknown } } | null)?.data?.error;
  if (typeof code === 'string') return SHARE_ERRORS[code] ?? `Slack answered ${code}`;
  return describeFailure(error);
}

async function share(client: WebClient, channel: string, drawn: HomeChartDrawn): Promise<string> {
  const { png, filename, title, altText } = drawn.image;
  const result = await client.filesUploadV2({ channel_id: channel, file: png, filename, title, alt_text: altText });
  const completed = (result.files as { files?: { id?: string }[] }[] | undefined)?.[0]?.files?.[0]?.id;
  if (!completed) throw new Error('Slack did not name the uploaded file');
  return completed;
}

/** Waits until files.info shows the file as an image shared in the channel. */
async function processed(client: WebClient, fileId: string, channel: string): Promise<void> {
  const deadline = Date.now() + PROCESSING_DEADLINE_MS;
  for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
    const { file } = await client.files.info({ file: fileId });
    const shares = file?.shares as { public?: Record<string, unknown>; private?: Record<string, unknown> } | undefined;
    const sharedHere = file?.channels?.includes(channel) || file?.groups?.includes(channel) || shares?.public?.[channel] !== undefined || shares?.private?.[channel] !== undefined;
    if (file?.mimetype?.startsWith('image/') && sharedHere) return;
    if (Date.now() + pause > deadline) throw new Error(`Slack had not processed the picture after ${PROCESSING_DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
