/** `help` lists every command, however many there are: the list is split over sections Slack accepts. */
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { COMMANDS } from '../../src/bot/commands.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { helpView } from '../../src/bot/views/help-view.js';

describe('help', () => {
  it('shows every command in full, each section within Slack\'s limit', () => {
    const message = helpView({ commands: COMMANDS.map((c) => c.info) });
    const text = renderBlocks(message, { width: 2_000 }).text;
    for (const command of COMMANDS) expect(text).toContain(`/recipedb ${command.info.usage}`);
    expect(text).toContain('/recipedb storage · storage expand <size>');
    for (const block of message.blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
  });
});
