/**
 * The App Home tab: rebuilt and published (views.publish) each time someone opens it, and again
 * for whoever clicks one of its approval buttons, so the tab shows what became of the click.
 *
 *   const home = registerAppHome(app, services);
 *   await home.publish('U_BOB', 'You approved …'); // also after a click in the Home tab
 */
import type { App } from '@slack/bolt';
import type { Services } from '../context.js';
import { readHome } from '../handlers/home.js';
import { APP_HOME_OPENED_EVENT } from './slack-surface.js';
import { homeView } from './views/home-view.js';

export interface AppHome {
  publish(userId: string, notice?: string): Promise<void>;
}

export function registerAppHome(app: App, services: Services): AppHome {
  const { log } = services;
  const publish = async (userId: string, notice?: string): Promise<void> => {
    const view = homeView(await readHome(services, userId), { notice });
    await app.client.views.publish({ user_id: userId, view });
  };

  app.event(APP_HOME_OPENED_EVENT, async ({ event }) => {
    // The Messages tab opens the same event: only the Home tab has a view to draw.
    if (event.tab !== 'home') return;
    await publish(event.user).catch((error: unknown) => log.warn({ err: error, user: event.user }, 'could not publish the App Home'));
  });

  return { publish };
}
