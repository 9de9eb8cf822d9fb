/** Short answers for mistakes and failures: one sentence and, for mistakes, the usage. */
import { escapeMrkdwn, section, type Message } from '../blocks.js';

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

/** The message that long work edits while it runs. */
export function progressView(text: string): Message {
  return { text, blocks: [section(`:hourglass_flowing_sand: ${escapeMrkdwn(text)}`)] };
}
