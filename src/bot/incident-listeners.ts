/**
 * Adding Slack messages to the open incident's timeline: the message shortcut "Add to incident
 * timeline" and a reaction (INCIDENT_REACTION, default :pushpin:). Both are de-duplicated per
 * message (Slack retries events, people react twice); the bot reacts back when it added one.
 */
import type { App } from '@slack/bolt';
import type { Services } from '../context.js';
import { addMessageToTimeline } from '../handlers/incident.js';
import { channelAllowed } from './channels.js';
import { plainSlackText } from './slack-text.js';
import { ADD_TO_TIMELINE_SHORTCUT, REACTION_ADDED_EVENT } from './slack-surface.js';

const CONFIRM_REACTION = 'white_check_mark';

export function registerIncidentListeners(app: App, services: Services): void {
  const { config, log } = services;

  const permalink = async (channel: string, ts: string): Promise<string | undefined> => {
    const found = await app.client.chat.getPermalink({ channel, message_ts: ts }).catch(() => undefined);
    return found?.permalink;
  };

  const confirm = async (channel: string, ts: string) => {
    await app.client.reactions.add({ channel, timestamp: ts, name: CONFIRM_REACTION }).catch((err: unknown) => log.warn({ err }, 'could not react to confirm'));
  };

  app.shortcut(ADD_TO_TIMELINE_SHORTCUT, async ({ ack, shortcut }) => {
    await ack();
    if (shortcut.type !== 'message_action') return;
    const channel = shortcut.channel.id;
    const user = shortcut.user.id;
    if (!channelAllowed(config.allowedChannels, channel)) return;
    const ts = shortcut.message.ts;
    const result = await addMessageToTimeline(services, {
      channel,
      messageTs: ts,
      author: shortcut.message.user ?? shortcut.message.bot_id ?? 'unknown',
      text: plainSlackText(shortcut.message.text ?? ''),
      permalink: await permalink(channel, ts),
      addedBy: user,
    });
    if (result === 'added') await confirm(channel, ts);
    else {
      const text = result === 'duplicate' ? 'That message is already in the incident timeline.' : 'There is no open incident in this channel.';
      await app.client.chat.postEphemeral({ channel, user, text }).catch(() => undefined);
    }
  });

  app.event(REACTION_ADDED_EVENT, async ({ event }) => {
    if (event.reaction !== config.incidents.reaction || event.item.type !== 'message') return;
    const { channel, ts } = event.item;
    if (!channelAllowed(config.allowedChannels, channel)) return;
    // Only the message's text is needed; history of one message at exactly that ts.
    const history = await app.client.conversations.history({ channel, latest: ts, inclusive: true, limit: 1 }).catch(() => undefined);
    const message = history?.messages?.find((m) => m.ts === ts);
    const result = await addMessageToTimeline(services, {
      channel,
      messageTs: ts,
      author: message?.user ?? event.item_user ?? 'unknown',
      text: message?.text !== undefined ? plainSlackText(message.text) : '(message text not available)',
      permalink: await permalink(channel, ts),
      addedBy: event.user,
    });
    if (result === 'added') await confirm(channel, ts);
  });
}
