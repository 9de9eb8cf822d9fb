/**
 * The buttons of an alert message. Status and Active queries run those commands for the clicker
 * and answer in the alert's thread; Start incident opens an incident from the alert; Silence 1h
 * and Expire silence go to Alertmanager; Kill… runs the `kill --older-than` the alert's rule names,
 * which posts the usual approval request. Everything is recorded as the clicker's doing (the
 * commands through the dispatcher, the rest by the handlers). A click that cannot be carried out
 * gets an ephemeral sentence and changes nothing.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Actor, Services } from '../context.js';
import { expireAlertSilence, killCommandForAlert, silenceAlertGroup, startIncidentFromAlert } from '../handlers/alert-actions.js';
import { attachIncidentRoot } from '../handlers/incident.js';
import { Refusal } from '../handlers/refusal.js';
import { formatTime } from '../format.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';
import type { AlertMessages } from './alert-messages.js';
import { message, mrkdwnText, section, type Message } from './blocks.js';
import { dispatchCommand, type Reply } from './dispatch.js';
import type { IncidentThread } from './incident-thread.js';
import {
  ALERT_ACTIVE_ACTION, ALERT_EXPIRE_SILENCE_ACTION, ALERT_INCIDENT_ACTION, ALERT_KILL_ACTION, ALERT_SILENCE_ACTION, ALERT_STATUS_ACTION,
} from './slack-surface.js';
import { incidentAlreadyOpenView, incidentRootView } from './views/incident-view.js';

interface Click {
  actor: Actor;
  /** The clicker's Slack user name, for Alertmanager's createdBy. */
  userName?: string;
  groupId: number;
  /** The alert message that was clicked: answers go to its thread. */
  messageTs?: string;
}

type ClickHandler = (click: Click) => Promise<void>;

export function registerAlertActions(app: App, services: Services, deps: { messages: AlertMessages; thread: IncidentThread }): void {
  const { log, metrics } = services;
  const { messages, thread } = deps;
  const scrub = createScrubber(services.config.secrets);

  const tell = (actor: Actor, text: string) =>
    app.client.chat.postEphemeral({ channel: actor.channelId, user: actor.userId, text }).catch((err: unknown) => log.warn({ err }, 'could not answer a click'));

  const post = async (channel: string, message: Message, threadTs?: string): Promise<string | undefined> => {
    const posted = await app.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, ...(threadTs ? { thread_ts: threadTs } : {}) });
    return posted.ts;
  };

  /** A command's reply, as the slash command would post it (usage mistakes only to the clicker). */
  const postReply = async (click: Click, reply: Reply, threadTs?: string) => {
    if (reply.ephemeral) {
      await tell(click.actor, reply.message.text);
      return;
    }
    const ts = await post(click.actor.channelId, reply.message, threadTs);
    if (ts && reply.posted) {
      await reply.posted(ts);
      await thread.flushChannel(click.actor.channelId);
    }
  };

  const note = (click: Click, text: string) => post(click.actor.channelId, message(text, [section(mrkdwnText(text))]), click.messageTs);

  const listener = (handle: ClickHandler, what: string) =>
    async ({ ack, body, action }: { ack: () => Promise<void>; body: BlockAction; action: ButtonAction }) => {
      const received = performance.now();
      await ack();
      metrics.ackLatency.observe({ kind: 'action' }, (performance.now() - received) / 1000);
      const channelId = body.channel?.id ?? body.container?.channel_id;
      if (!channelId) return;
      const actor = { userId: body.user.id, channelId };
      const groupId = /^\d{1,15}$/.test(action.value ?? '') ? Number(action.value) : NaN;
      if (!Number.isSafeInteger(groupId)) {
        await tell(actor, 'This button does not name an alert; nothing was done.');
        return;
      }
      const userName = body.user.username ?? body.user.name;
      const click: Click = { actor, groupId, userName, messageTs: body.container?.message_ts ?? body.message?.ts };
      try {
        await handle(click);
      } catch (error) {
        if (error instanceof Refusal) {
          await tell(actor, mrkdwnText(error.message));
          return;
        }
        log.error({ err: error, action: action.action_id, groupId }, 'an alert button failed');
        await tell(actor, `Could not ${what}: ${mrkdwnText(scrub(describeFailure(error)))}`);
      }
    };

  const showStatus: ClickHandler = async (click) => postReply(click, await dispatchCommand('status', click.actor, services), click.messageTs);
  const showActive: ClickHandler = async (click) => postReply(click, await dispatchCommand('active', click.actor, services), click.messageTs);

  const startIncident: ClickHandler = async (click) => {
    const result = await startIncidentFromAlert(services, { groupId: click.groupId, userId: click.actor.userId });
    if (result.kind === 'existing') {
      await tell(click.actor, incidentAlreadyOpenView(result.incident).text);
      return;
    }
    const { incident } = result;
    const rootTs = await post(incident.channel, incidentRootView(incident, services.now()));
    if (rootTs) {
      await attachIncidentRoot(services, incident.id, rootTs);
      await thread.flushChannel(incident.channel);
    }
    await messages.sync(result.group.id);
  };

  const silence: ClickHandler = async (click) => {
    const silenced = await silenceAlertGroup(services, { groupId: click.groupId, userId: click.actor.userId, userName: click.userName });
    await messages.sync(silenced.group.id);
    await note(click, `:no_bell: @${click.actor.userId} silenced this alert in Alertmanager until ${formatTime(silenced.until)} (silence ${silenced.silenceId}: ${silenced.matchers}).`);
  };

  const expireSilence: ClickHandler = async (click) => {
    const expired = await expireAlertSilence(services, { groupId: click.groupId, userId: click.actor.userId });
    await messages.sync(expired.group.id);
    await note(click, `:bell: @${click.actor.userId} expired the silence ${expired.silenceId}${expired.result === 'not-found' ? ' (Alertmanager no longer had it)' : ''}: Alertmanager notifies about this alert again.`);
  };

  const kill: ClickHandler = async (click) => {
    const line = await killCommandForAlert(services, click.groupId);
    // The same path as `/recipedb kill --older-than …` typed by the clicker: refused without
    // approvers, planned read-only, posted as the usual approval request in the channel.
    await postReply(click, await dispatchCommand(line, click.actor, services));
  };

  app.action<BlockAction<ButtonAction>>(ALERT_STATUS_ACTION, listener(showStatus, 'show the status'));
  app.action<BlockAction<ButtonAction>>(ALERT_ACTIVE_ACTION, listener(showActive, 'list the active queries'));
  app.action<BlockAction<ButtonAction>>(ALERT_INCIDENT_ACTION, listener(startIncident, 'start the incident'));
  app.action<BlockAction<ButtonAction>>(ALERT_SILENCE_ACTION, listener(silence, 'silence the alert'));
  app.action<BlockAction<ButtonAction>>(ALERT_EXPIRE_SILENCE_ACTION, listener(expireSilence, 'expire the silence'));
  app.action<BlockAction<ButtonAction>>(ALERT_KILL_ACTION, listener(kill, 'request the kill'));
}
