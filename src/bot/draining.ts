/**
 * Bolt middleware for the shutdown: every request is tracked, so the drain waits for the work it
 * started; while draining, new commands and button clicks are answered with one sentence instead
 * of starting work that the grace period might cut short. Events and shortcuts (quick timeline
 * additions) still run.
 */
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Lifecycle } from '../lifecycle.js';
import { refusalView } from './views/usage-view.js';

export const RESTARTING = 'recipedb-ops is restarting: nothing was done. Run the command again in a few seconds.';
const RESTARTING_CLICK = 'recipedb-ops is restarting: your click was not taken. Click again in a few seconds.';

export function drainingMiddleware(lifecycle: Lifecycle): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    if (lifecycle.draining) {
      if ('command' in args && args.command !== undefined) {
        await args.ack({ response_type: 'ephemeral', ...refusalView(RESTARTING) });
        return;
      }
      if ('action' in args && args.body.type === 'block_actions') {
        await args.ack();
        const channel = args.body.channel?.id;
        if (channel) await args.client.chat.postEphemeral({ channel, user: args.body.user.id, text: RESTARTING_CLICK }).catch(() => undefined);
        return;
      }
    }
    await lifecycle.track(args.next());
  };
}
