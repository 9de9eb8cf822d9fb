/**
 * Short answers for mistakes and failures: one sentence and, for mistakes, the usage. The sentences
 * are plain text (a failure quotes the database's own words), escaped here.
 */
import { actions, message, mrkdwnText, section, type Block, type Message } from '../blocks.js';
import { cancelButton } from './cancel-button.js';

function sentence(icon: string, text: string, more: Block[] = []): Message {
  return message(text, [section(`${icon} ${mrkdwnText(text)}`), ...more]);
}

export function usageView(problem: string, usage?: string): Message {
  return sentence(':warning:', usage ? `${problem}\nUsage: \`/recipedb ${usage}\`` : `${problem}\nTry \`/recipedb help\`.`);
}

export function failureView(command: string, reason: string): Message {
  return sentence(':x:', `\`${command}\` failed: ${reason}`);
}

export function refusalView(reason: string): Message {
  return sentence(':no_entry:', reason);
}

export function nothingToDoView(text: string): Message {
  return sentence(':information_source:', text);
}

/** The message that long work edits while it runs; a maintenance run also gets its Cancel button. */
export function progressView(text: string, cancelRun?: string): Message {
  return sentence(':hourglass_flowing_sand:', text, cancelRun ? [actions(`maintenance:${cancelRun}`, [cancelButton(cancelRun)])] : []);
}
