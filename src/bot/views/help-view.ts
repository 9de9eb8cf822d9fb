import type { HelpResult } from '../../handlers/help.js';
import { context, header, message, section, type Message } from '../blocks.js';

export function helpView(result: HelpResult): Message {
  const lines = result.commands.map((c) => `\`/recipedb ${c.usage}\` — ${c.summary}${c.gated ? ' _(needs approval)_' : ''}`);
  return message('recipedb-ops commands', [
    header('recipedb-ops commands'),
    section(lines.join('\n')),
    context(['Durations are written 30s, 10m, 2h. Destructive commands need a second person to approve.']),
  ]);
}
