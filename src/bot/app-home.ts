/**
 * The App Home tab: rebuilt and published (views.publish) each time someone opens it, and again
 * for whoever clicks one of its approval buttons, so the tab shows what became of the click.
 * Opening it may also start drawing the 24 h picture (home-chart-share.ts): the tab answers at
 * once, with sparklines, and is published again with the picture a few seconds later.
 *
 *   const home = registerAppHome(app, services);
 *   await home.publish('U_BOB', 'You approved …'); // also after a click in the Home tab
 */
import type { App } from '@slack/bolt';
import type { Services } from '../context.js';
import { readHome, type HomeResult } from '../handlers/home.js';
import { claimHomeChartDrawing, forgetHomeChart, readHomeChartShown } from '../handlers/home-chart.js';
import { homeChartSharing } from './home-chart-share.js';
import { APP_HOME_OPENED_EVENT } from './slack-surface.js';
import { homeView } from './views/home-view.js';

export interface AppHome {
  publish(userId: string, notice?: string): Promise<void>;
}

/** Slack's answer when a block is wrong: for the picture, a file it no longer shows (deleted, not visible). */
function refusedBlocks(error: unknown): boolean {
  return (error as { data?: { error?: unknown } } | null)?.data?.error === 'invalid_blocks';
}

export function registerAppHome(app: App, services: Services): AppHome {
  const { log } = services;
  const warn = (user: string) => (error: unknown) => log.warn({ err: error, user }, 'could not publish the App Home');
  const claimChart = (userId: string) =>
    claimHomeChartDrawing(services, userId).catch((error: unknown) => {
      log.warn({ err: error }, 'could not claim the App Home picture');
      return 'nothing' as const;
    });
  const publishView = (userId: string, home: HomeResult, notice: string | undefined) =>
    app.client.views.publish({ user_id: userId, view: homeView(home, { notice }) });

  const publish = async (userId: string, notice?: string): Promise<void> => {
    const home = await readHome(services, userId);
    try {
      await publishView(userId, home, notice);
    } catch (error) {
      const chart = home.chart.ok ? home.chart.data : null;
      if (chart?.kind !== 'image' || !refusedBlocks(error)) throw error;
      // Someone deleted the picture, or Slack no longer lets it be shown: the Home goes on without
      // it, and a new one is drawn.
      log.warn({ err: error, file: chart.fileId }, 'Slack refused the App Home picture; publishing the Home without it');
      await forgetHomeChart(services, chart.fileId);
      const claim = await claimChart(userId);
      const unknown = { kind: 'none' as const, drawing: false, failure: { reason: 'Slack could not show the last one', at: services.now() } };
      const shown = await readHomeChartShown(services).catch(() => unknown);
      await publishView(userId, { ...home, chart: { ok: true, ms: 0, data: shown.kind === 'image' ? unknown : shown } }, notice);
      if (claim === 'draw') share(userId);
    }
  };
  const shareChart = homeChartSharing(app.client, services, (userId) => publish(userId).catch(warn(userId)));
  const share = (userId: string): void => {
    // Tracked, so that a shutdown waits for the share instead of leaving a claim to expire.
    void services.lifecycle.track(shareChart(userId)).catch((error: unknown) => log.warn({ err: error }, 'could not share the App Home picture'));
  };

  app.event(APP_HOME_OPENED_EVENT, async ({ event }) => {
    // The Messages tab opens the same event: only the Home tab has a view to draw.
    if (event.tab !== 'home') return;
    // Claimed before the Home is read, so that the Home says the picture is on its way.
    const claim = await claimChart(event.user);
    await publish(event.user).catch(warn(event.user));
    if (claim === 'draw') share(event.user);
  });

  return { publish };
}
