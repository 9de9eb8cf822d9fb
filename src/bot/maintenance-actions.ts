/**
 * The Cancel button of a running maintenance operation, on whichever replica Slack sends the click
 * to: ack at once, let the handler mark the run and cancel its session, and tell the clicker in
 * one ephemeral sentence. The replica running the operation redraws the message with its outcome.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Services } from '../context.js';
import { cancelMaintenance } from '../handlers/maintenance-cancel.js';
import { mrkdwnText } from './blocks.js';
import { CANCEL_MAINTENANCE_ACTION } from './slack-surface.js';
import { cancelAnswer } from './views/maintenance-view.js';

export function registerMaintenanceCancel(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>(CANCEL_MAINTENANCE_ACTION, async ({ ack, body, action }) => {
    const received = performance.now();
    await ack();
    services.metrics.ackLatency.observe({ kind: 'action' }, (performance.now() - received) / 1000);
    const userId = body.user.id;
    const channel = body.channel?.id ?? body.container?.channel_id;
    let reply: string;
    try {
      const result = await cancelMaintenance(services, { runId: action.value ?? '', userId });
      reply = cancelAnswer(result, 'The message will show the outcome.');
    } catch (error) {
      services.log.error({ err: error, run: action.value }, 'could not process a maintenance cancel click');
      reply = 'Your click could not be processed; nothing was cancelled. Try again.';
    }
    if (channel) {
      await app.client.chat.postEphemeral({ channel, user: userId, text: mrkdwnText(reply) }).catch((error: unknown) =>
        services.log.warn({ err: error }, 'could not answer a cancel click'),
      );
    }
  });
}
