/** `help`: every command with its usage. */
import { defineHandler, noArgs, type CommandInfo } from './handler.js';

export interface HelpResult {
  commands: readonly CommandInfo[];
}

export const helpHandler = defineHandler({
  name: 'help',
  usage: 'help',
  summary: 'usage of every command',
  args: noArgs,
  async run(_args, ctx): Promise<HelpResult> {
    return { commands: ctx.commands };
  },
});
