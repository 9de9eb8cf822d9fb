/**
 * Reading a view's Block Kit in view tests: the header, and the mrkdwn of every section, field
 * and context element, in order, as Slack receives them (escaped, with mrkdwn markup).
 *
 *   const m = activeView(result);
 *   expect(headerOf(m)).toBe('Active queries');
 *   expect(mrkdwnOf(m)).toContain('No queries running right now.');
 */
import type { Block, DraftMessage } from '../../src/bot/blocks.js';

export function headerOf(message: DraftMessage): string | undefined {
  const found = message.blocks.find((b) => b.type === 'header');
  return found?.type === 'header' ? found.text.text : undefined;
}

/** Every mrkdwn string of the message's sections, fields and context elements, in order. */
export function mrkdwnOf(message: DraftMessage | Block[]): string[] {
  const blocks = Array.isArray(message) ? message : message.blocks;
  return blocks.flatMap((b): string[] => {
    if (b.type === 'section') return [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)];
    if (b.type === 'context') return b.elements.flatMap((e) => ('text' in e && typeof e.text === 'string' ? [e.text] : []));
    return [];
  });
}

/** All of it in one string, for patterns that span lines. */
export function allMrkdwn(message: DraftMessage | Block[]): string {
  return mrkdwnOf(message).join('\n');
}

/** The size Slack counts against msg_blocks_too_long. */
export function blocksJsonSize(message: DraftMessage): number {
  return JSON.stringify(message.blocks).length;
}
