/** Reading what the bot posted to the fake Slack as a user would see it. */
import { renderBlocks, type RenderedMessage } from '../../src/bot/blocks-to-text.js';
import type { DraftMessage } from '../../src/bot/blocks.js';
import type { SlackCall } from './fake-slack.js';

export function messageOf(call: SlackCall): DraftMessage {
  return { text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as DraftMessage['blocks'] };
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
