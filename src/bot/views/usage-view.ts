/** Short answers for mistakes and failures: one sentence and, for mistakes, the usage. */
import { actions, escapeMrkdwn, section, type Block, type Message } from '../blocks.js';
import { cancelButton } from './cancel-button.js';

export function usageView(problem: string, usage?: string): Message {
  const text = usage ? `${problem}\nUsage: \`/recipedb ${usage}\`` : `${problem}\nTry \`/recipedb help\`.`;
  return { text, blocks: [section(`:warning: ${text}`)] };
}

export function failureView(command: string, reason: string): Message {
  const text = `\`${command}\` failed: ${reason}`;
  return { text, blocks: [section(`:x: ${text}`)] };
}

export function refusalView(reason: string): Message {
  return { text: reason, blocks: [section(`:no_entry: ${reason}`)] };
}

export function nothingToDoView(text: string): Message {
  return { text, blocks: [section(`:information_source: ${text}`)] };
}

/** The message that long work edits while it runs; a maintenance run also gets its Cancel button. */
export function progressView(text: string, cancelRun?: string): Message {
  const blocks: Block[] = [section(`:hourglass_flowing_sand: ${escapeMrkdwn(text)}`)];
  if (cancelRun) blocks.push(actions(`maintenance:${cancelRun}`, [cancelButton(cancelRun)]));
  return { text, blocks };
}
