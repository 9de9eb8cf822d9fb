import type { HelpResult } from '../../handlers/help.js';
import { context, header, LIMITS, section, type Block, type Message } from '../blocks.js';

export function helpView(result: HelpResult): Message {
  const lines = result.commands.map((c) => `\`/recipedb ${c.usage}\` — ${c.summary}${c.gated ? ' _(needs approval)_' : ''}`);
  return {
    text: 'recipedb-ops commands',
    blocks: [
      header('recipedb-ops commands'),
      ...sections(lines),
      context(['Durations are written 30s, 10m, 2h. Destructive commands need a second person to approve.']),
    ],
  };
}

/** As many sections as the lines need: one section holds at most LIMITS.sectionText characters. */
function sections(lines: string[]): Block[] {
  const chunks: string[][] = [[]];
  let size = 0;
  for (const line of lines) {
    if (size + line.length + 1 > LIMITS.sectionText && (chunks[chunks.length - 1] ?? []).length > 0) {
      chunks.push([]);
      size = 0;
    }
    chunks[chunks.length - 1]?.push(line);
    size += line.length + 1;
  }
  return chunks.map((chunk) => section(chunk.join('\n')));
}
