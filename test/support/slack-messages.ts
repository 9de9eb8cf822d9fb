/** Reading what the bot posted to the fake Slack as a user would see it. */
import { renderBlocks, type RenderedMessage } from '../../src/bot/blocks-to-text.js';
import type { DraftMessage } from '../../src/bot/blocks.js';
import type { SlackCall } from './fake-slack.js';

interface Attachment { color?: string; blocks?: unknown[] }

function attachmentsOf(call: SlackCall): Attachment[] {
  return Array.isArray(call.body.attachments) ? (call.body.attachments as Attachment[]) : [];
}

/** Slack shows a message's own blocks, then those inside its attachments (beside their colour bar). */
export function messageOf(call: SlackCall): DraftMessage {
  const inside = attachmentsOf(call).flatMap((a) => a.blocks ?? []);
  return { text: String(call.body.text ?? ''), blocks: [...((call.body.blocks ?? []) as unknown[]), ...inside] as DraftMessage['blocks'] };
}

/** The colour bar a user sees beside the message, if any. */
export function colorOf(call: SlackCall): string | undefined {
  return attachmentsOf(call).find((a) => a.color)?.color;
}

export function rendered(call: SlackCall): RenderedMessage {
  return renderBlocks(messageOf(call));
}

export function textOf(call: SlackCall): string {
  return rendered(call).text;
}

/** The ts of a posted message (the fake answers chat.postMessage with it). */
export function tsOf(call: SlackCall): string {
  const ts = call.response.ts;
  if (typeof ts !== 'string') throw new Error('the posted message has no ts');
  return ts;
}
