/**
 * Splits the text after `/recipedb` into a command name and its arguments. Quotes group words
 * (`incident start "db down"`); Slack's smart quotes count as quotes.
 *
 *   parseCommandLine('kill --older-than 10m') // { name: 'kill', args: { positional: [], flags: { 'older-than': '10m' } } }
 */
import type { RawArgs } from '../handlers/handler.js';

export interface CommandLine {
  name: string;
  /** For commands with sub-commands (`incident start …`, `backup verify …`). */
  words: string[];
  args: RawArgs;
}

export function tokenize(text: string): string[] {
  const normalized = text.replace(/[\u201C\u201D]/g, '"').replace(/[\u2018\u2019]/g, "'").replace(/\u2014/g, '--');
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of normalized.matchAll(pattern)) tokens.push(match[1] ?? match[2] ?? match[3] ?? '');
  return tokens;
}

/** `--flag value` takes the next word unless it is another flag; `--flag=value` also works. */
export function splitArgs(tokens: string[], switches: ReadonlySet<string> = new Set(), text = tokens.join(' ')): RawArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const flag = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/i.exec(token);
    if (!flag) {
      positional.push(token);
      continue;
    }
    const name = (flag[1] as string).toLowerCase();
    if (flag[2] !== undefined) {
      flags[name] = flag[2];
    } else if (!switches.has(name) && i + 1 < tokens.length && !(tokens[i + 1] as string).startsWith('--')) {
      flags[name] = tokens[++i] as string;
    } else {
      flags[name] = true;
    }
  }
  return { positional, flags, text };
}

export function parseCommandLine(text: string, switches?: ReadonlySet<string>): CommandLine {
  const trimmed = text.trim();
  const tokens = tokenize(trimmed);
  const [first, ...rest] = tokens;
  const afterName = trimmed.replace(/^\S+\s*/, '');
  return { name: (first ?? '').toLowerCase(), words: rest, args: splitArgs(rest, switches, afterName) };
}
