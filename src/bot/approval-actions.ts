/**
 * The Approve / Reject buttons on Slack: ack at once, let the engine decide, and redraw the
 * request's message (buttons gone, who decided, progress, outcome). Strangers and late clicks get
 * an ephemeral sentence and change nothing.
 */
import type { App } from '@slack/bolt';
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { Services } from '../context.js';
import { decide, outcomeOf, type ActionRegistry, type Decision, type RequestUpdate } from '../handlers/approval-engine.js';
import type { ActionOutcome } from '../handlers/gated.js';
import type { ApprovalRequest } from '../state/approvals.js';
import { approvalView } from './views/approval-view.js';
import { APPROVE_ACTION, REJECT_ACTION } from './slack-surface.js';
import { mrkdwnText } from './blocks.js';
import type { AppHome } from './app-home.js';

/** Registers the buttons; returns what redraws a request's message (for the sweeper's notices). */
export function registerApprovals(
  app: App,
  services: Services,
  registry: ActionRegistry,
  /** A click in the App Home (no channel, no message): the clicker's Home is published again, with what became of the click. */
  home?: AppHome,
): (request: ApprovalRequest) => Promise<void> {
  const { log, metrics } = services;
  const redraw = async (request: ApprovalRequest, update?: RequestUpdate) => {
    if (!request.messageTs) return;
    const message = approvalView(request, { approvers: services.config.approvers, ...update });
    await app.client.chat.update({ channel: request.channel, ts: request.messageTs, text: message.text, blocks: message.blocks });
  };

  const listener = (decision: Decision) =>
    async ({ ack, body, action }: { ack: () => Promise<void>; body: BlockAction; action: ButtonAction }) => {
      const received = performance.now();
      await ack();
      metrics.ackLatency.observe({ kind: 'action' }, (performance.now() - received) / 1000);
      const userId = body.user.id;
      const fromHome = body.view?.type === 'home';
      const channel = body.channel?.id ?? body.container?.channel_id;
      const clickedTs = body.container?.message_ts ?? body.message?.ts;
      // The click names its message: redraw it even if the ts was not stored yet (a very fast click).
      // From the Home tab it names none: the request's own channel message is redrawn.
      let homeShowsDecision = false;
      const redrawClicked = async (request: ApprovalRequest, update?: RequestUpdate) => {
        await redraw(request.messageTs || !clickedTs ? request : { ...request, messageTs: clickedTs }, update);
        // The clicker's Home loses the buttons as soon as the request is decided, not after the action ran.
        if (fromHome && home && !homeShowsDecision && request.status !== 'pending') {
          homeShowsDecision = true;
          await home.publish(userId, `You ${request.status} ${request.action} (${request.id}); its message in the channel shows the progress and the outcome.`);
        }
      };
      // The answer for the clicker alone: ephemeral in the channel, or in their Home tab.
      const tell = async (text: string): Promise<void> => {
        if (fromHome && home) await home.publish(userId, text);
        else if (channel) await app.client.chat.postEphemeral({ channel, user: userId, text: mrkdwnText(text) });
      };
      try {
        const result = await decide(services, registry, { id: action.value ?? '', userId, decision }, redrawClicked);
        if (result.kind !== 'decided') await tell(result.reason);
        else if (fromHome && home) await home.publish(userId, outcomeNotice(result.request, result.unrecordedOutcome));
      } catch (error) {
        log.error({ err: error, requestId: action.value }, 'could not process an approval click');
        await tell('Your click could not be processed; nothing was changed. Try again.').catch(() => undefined);
      }
    };

  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION, listener('approve'));
  app.action<BlockAction<ButtonAction>>(REJECT_ACTION, listener('reject'));
  return (request) => redraw(request);
}

/** What the clicker reads in their Home once the click is done with. */
function outcomeNotice(request: ApprovalRequest, unrecorded?: ActionOutcome): string {
  const outcome = outcomeOf(request);
  const what = `${request.action} (${request.id})`;
  if (request.status !== 'approved') return `You ${request.status} ${what}.`;
  if (outcome) return `You approved ${what}: ${outcome.ok ? 'done' : 'FAILED'} — ${outcome.summary}`;
  if (unrecorded) return `You approved ${what}: ran; outcome not recorded — ${unrecorded.summary}`;
  return `You approved ${what}.`;
}
