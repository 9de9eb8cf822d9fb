/**
 * The Approve / Reject buttons on Slack: ack at once, let the engine decide, and redraw the
 * request's message (buttons gone, who decided, progress, outcome). Strangers and late clicks get
 * an ephemeral sentence and change nothing.
 */
import type { App } from '@slack/bolt';
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { Services } from '../context.js';
import { decide, type ActionRegistry, type Decision } from '../handlers/approval-engine.js';
import type { ApprovalRequest } from '../state/approvals.js';
import { approvalView } from './views/approval-view.js';
import { APPROVE_ACTION, REJECT_ACTION } from './slack-surface.js';
import { mrkdwnText } from './blocks.js';
import type { ProgressOptions } from '../handlers/handler.js';

/** Registers the buttons; returns what redraws a request's message (for the sweeper's notices). */
export function registerApprovals(app: App, services: Services, registry: ActionRegistry): (request: ApprovalRequest) => Promise<void> {
  const { log, metrics } = services;
  const redraw = async (request: ApprovalRequest, progress?: string, options?: ProgressOptions) => {
    if (!request.messageTs) return;
    const message = approvalView(request, { approvers: services.config.approvers, progress, cancelRun: options?.cancelRun });
    await app.client.chat.update({ channel: request.channel, ts: request.messageTs, text: message.text, blocks: message.blocks });
  };

  const listener = (decision: Decision) =>
    async ({ ack, body, action }: { ack: () => Promise<void>; body: BlockAction; action: ButtonAction }) => {
      const received = performance.now();
      await ack();
      metrics.ackLatency.observe({ kind: 'action' }, (performance.now() - received) / 1000);
      const userId = body.user.id;
      const channel = body.channel?.id ?? body.container?.channel_id;
      const clickedTs = body.container?.message_ts ?? body.message?.ts;
      // The click names its message: redraw it even if the ts was not stored yet (a very fast click).
      const redrawClicked = (request: ApprovalRequest, progress?: string, options?: ProgressOptions) =>
        redraw(request.messageTs || !clickedTs ? request : { ...request, messageTs: clickedTs }, progress, options);
      try {
        const result = await decide(services, registry, { id: action.value ?? '', userId, decision }, redrawClicked);
        if (result.kind !== 'decided' && channel) {
          await app.client.chat.postEphemeral({ channel, user: userId, text: mrkdwnText(result.reason) });
        }
      } catch (error) {
        log.error({ err: error, requestId: action.value }, 'could not process an approval click');
        if (channel) {
          await app.client.chat
            .postEphemeral({ channel, user: userId, text: 'Your click could not be processed; nothing was changed. Try again.' })
            .catch(() => undefined);
        }
      }
    };

  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION, listener('approve'));
  app.action<BlockAction<ButtonAction>>(REJECT_ACTION, listener('reject'));
  return (request) => redraw(request);
}
