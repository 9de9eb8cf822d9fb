import type { HelpResult } from '../../handlers/help.js';
import { context, escapeMrkdwn, header, LIMITS, message, section, type Block, type Message } from '../blocks.js';

export function helpView(result: HelpResult): Message {
  // Usages name their arguments in angle brackets (`storage expand <size>`): escaped, or Slack reads them as links.
  const lines = result.commands.map((c) => `\`/recipedb ${escapeMrkdwn(c.usage)}\` — ${escapeMrkdwn(c.summary)}${c.gated ? ' _(needs approval)_' : ''}`);
  return message('recipedb-ops commands', [
    header('recipedb-ops commands'),
    ...sectionsOf(lines),
    context(['Durations are written 30s, 10m, 2h. Destructive commands need a second person to approve.']),
  ]);
}

/** As many sections as the lines need: one section holds 3,000 characters, and the list is longer. */
function sectionsOf(lines: string[]): Block[] {
  const sections: string[][] = [[]];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > LIMITS.sectionText && (sections.at(-1)?.length ?? 0) > 0) {
      sections.push([]);
      length = 0;
    }
    sections.at(-1)?.push(line);
    length += line.length + 1;
  }
  return sections.map((part) => section(part.join('\n')));
}
