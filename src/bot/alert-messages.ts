/**
 * Draws alert groups' messages in ALERTS_CHANNEL: posts the first version, edits it for every
 * later one, and draws nothing for a version already shown. Drawing is claimed in the state
 * database, so of several replicas one draws; the one holding the claim keeps drawing until the
 * message shows the latest version (a change that reached another replica meanwhile included).
 *
 *   const messages = alertMessages(services, app.client);
 *   await messages.sync(groupId); // after a notification, a silence, an incident
 */
import type { webApi } from '@slack/bolt';
import type { Services } from '../context.js';
import { claimAlertGroupDrawing, finishAlertGroupDrawing, releaseAlertGroupDrawing, type AlertGroup } from '../state/alert-groups.js';
import { alertGroupView } from './views/alert-group-view.js';

export interface AlertMessages {
  /** Brings the group's message up to date, if this replica may draw it now; never throws. */
  sync(groupId: number): Promise<void>;
}

export function alertMessages(services: Services, client: webApi.WebClient): AlertMessages {
  const { log, state, config } = services;
  const claim = { by: services.instance, replicaTimeoutMs: config.replicaTimeoutMs };
  // One draw at a time per group within this process keeps a post and its first edit in order.
  const queues = new Map<number, Promise<void>>();

  const draw = async (group: AlertGroup): Promise<void> => {
    let current: AlertGroup | null = group;
    while (current) {
      const message = alertGroupView(current, { now: services.now(), canSilence: Boolean(config.alerts.alertmanagerUrl) });
      // A coloured message carries its blocks inside the attachment; the text stays the fallback.
      const content = message.color ? { attachments: [{ color: message.color, blocks: message.blocks }] } : { blocks: message.blocks };
      let ts = current.messageTs;
      try {
        if (ts) await client.chat.update({ channel: current.channel, ts, text: message.text, ...content });
        else ts = (await client.chat.postMessage({ channel: current.channel, text: message.text, ...content })).ts ?? null;
        if (!ts) throw new Error('Slack did not return the message ts');
      } catch (error) {
        // The version stays undrawn: the next notification, or the redraw job, tries again.
        await releaseAlertGroupDrawing(state, current.id, claim.by);
        throw error;
      }
      current = await finishAlertGroupDrawing(state, current.id, { by: claim.by, version: current.version, messageTs: ts });
    }
  };

  const syncNow = async (groupId: number): Promise<void> => {
    const claimed = await claimAlertGroupDrawing(state, groupId, claim);
    if (claimed) await draw(claimed);
  };

  return {
    sync(groupId) {
      const previous = queues.get(groupId) ?? Promise.resolve();
      const next = previous
        .then(() => syncNow(groupId))
        .catch((err: unknown) => log.warn({ err, groupId }, 'could not draw the alert message'))
        .finally(() => {
          if (queues.get(groupId) === next) queues.delete(groupId);
        });
      queues.set(groupId, next);
      return next;
    },
  };
}
