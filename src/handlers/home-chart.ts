/**
 * The App Home's 24 h picture (SPEC section 13): the connections chart of the last day, drawn at
 * most every REFRESH by one replica and shared in HOME_CHART_CHANNEL, so that every Home view can
 * name the file (an image block may only show a file its viewers can see). Slack-free: the Slack
 * app shares the PNG and tells this module which file it became (bot/home-chart-share.ts).
 *
 *   const shown = await readHomeChartShown(services);                  // what the Home shows now
 *   if ((await claimHomeChartDrawing(services, 'U_BOB')) === 'draw') {
 *     const drawn = await drawHomeChart(services, 'U_BOB');            // the PNG, or failed with its viewers
 *     … share it … then storeHomeChart(services, { ...drawn, fileId }) or failHomeChartDrawing(…)
 *   }
 */
import type { Services } from '../context.js';
import { DAY_MS } from '../state/history-downsample.js';
import { claimHomeChart, failHomeChart, finishHomeChart, forgetHomeChartFile, readHomeChart, watchHomeChart, type FinishedDrawing, type HomeChartTiming } from '../state/home-charts.js';
import { describeFailure } from '../ops/failure.js';
import { chartHandler, type ChartImage } from './chart.js';
import { homeContext } from './home-context.js';

export const HOME_CHART_TIMING: HomeChartTiming = {
  // A day's picture 15 minutes old still tells the trend; the status line above it has the figures of now.
  refreshMs: 15 * 60_000,
  retryMs: 5 * 60_000,
  // Rendering, uploading and Slack's processing take seconds; a claim this old was a replica that died.
  drawingTtlMs: 2 * 60_000,
};

export type HomeChartShown =
  | { kind: 'off' }
  | { kind: 'image'; fileId: string; altText: string; windowTo: Date }
  | { kind: 'none'; drawing: boolean; failure: { reason: string; at: Date } | null };

export async function readHomeChartShown(services: Services): Promise<HomeChartShown> {
  const channel = services.config.history.homeChartChannel;
  if (channel === undefined) return { kind: 'off' };
  const chart = await readHomeChart(services.state, channel, services.now(), HOME_CHART_TIMING.drawingTtlMs);
  if (chart?.fileId && chart.windowTo) return { kind: 'image', fileId: chart.fileId, altText: chart.altText ?? 'Connections, last 24 h', windowTo: chart.windowTo };
  return {
    kind: 'none',
    drawing: chart?.drawing ?? false,
    failure: chart?.error && chart.failedAt ? { reason: chart.error, at: chart.failedAt } : null,
  };
}

/**
 * Claims the next picture for this replica when one is due: 'draw' (then drawHomeChart), 'watching'
 * when another replica or opening is drawing it (the viewer is published again when it is done),
 * 'nothing' when none is due (no channel, the picture is fresh, or the last failure is recent).
 */
export async function claimHomeChartDrawing(services: Services, userId: string): Promise<'draw' | 'watching' | 'nothing'> {
  const channel = services.config.history.homeChartChannel;
  if (channel === undefined) return 'nothing';
  const now = services.now();
  if (await claimHomeChart(services.state, { channel, by: services.instance, userId, now, ...HOME_CHART_TIMING })) return 'draw';
  return (await watchHomeChart(services.state, { channel, userId, now, drawingTtlMs: HOME_CHART_TIMING.drawingTtlMs })) ? 'watching' : 'nothing';
}

export interface HomeChartDrawn {
  image: ChartImage;
  windowTo: Date;
}

/**
 * Renders the claimed picture. When there is nothing to draw (no samples) or the drawing fails, the
 * claim is given up with the reason, which the Home shows: whose Home to publish again comes back.
 */
export async function drawHomeChart(services: Services, userId: string): Promise<({ kind: 'drawn' } & HomeChartDrawn) | { kind: 'failed'; viewers: string[] }> {
  let reason: string;
  try {
    const result = await chartHandler.run({ figure: 'connections', sinceMs: DAY_MS }, homeContext(services, userId));
    if (result.image !== null) return { kind: 'drawn', image: result.image, windowTo: result.window.to };
    reason = result.samplingOff ? 'nothing is sampled (HISTORY_INTERVAL=off)' : 'no samples in the last 24 h yet';
  } catch (error) {
    services.log.warn({ err: error }, 'could not draw the App Home picture');
    reason = `the chart could not be drawn (${describeFailure(error)})`;
  }
  return { kind: 'failed', viewers: await failHomeChartDrawing(services, reason) };
}

export function storeHomeChart(services: Services, drawn: HomeChartDrawn & { fileId: string }): Promise<FinishedDrawing> {
  const channel = services.config.history.homeChartChannel;
  if (channel === undefined) return Promise.resolve({ stored: false, viewers: [], previousFileId: null });
  return finishHomeChart(services.state, { channel, by: services.instance, fileId: drawn.fileId, altText: drawn.image.altText, windowTo: drawn.windowTo, now: services.now() });
}

/** Whose Home to publish again (with the reason shown there). */
export async function failHomeChartDrawing(services: Services, reason: string): Promise<string[]> {
  const channel = services.config.history.homeChartChannel;
  if (channel === undefined) return [];
  return failHomeChart(services.state, { channel, by: services.instance, error: reason, now: services.now() });
}

export async function forgetHomeChart(services: Services, fileId: string): Promise<void> {
  const channel = services.config.history.homeChartChannel;
  if (channel !== undefined) await forgetHomeChartFile(services.state, { channel, fileId, now: services.now(), freshMs: HOME_CHART_TIMING.drawingTtlMs });
}
