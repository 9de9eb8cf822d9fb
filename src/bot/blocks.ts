// The one place that builds Block Kit. Every builder clamps its strings to Slack's limits, because
// Slack rejects the whole message (`invalid_blocks`, `msg_blocks_too_long`) when a single field is
// too long: a truncated line is always better than an operator seeing no answer at all.
//
// It is also the one place that escapes: code blocks escape what they hold, and a message's
// notification text is built only by `message`/`fitMessage` from plain text, so a query text, an
// application name or an incident note saying `<!channel>` never pings anyone.
import { formatTime } from '../format.js';
import type { types as slack } from '@slack/bolt';

export type Block = slack.KnownBlock;
export type ButtonElement = slack.Button;

declare const escapedForSlack: unique symbol;
/** Text escaped for Slack's mrkdwn; made only by `message` and `fitMessage` below. */
export type SlackText = string & { readonly [escapedForSlack]: true };

export interface Message {
  /** Notification and accessibility fallback; Slack shows it where blocks cannot be shown. */
  text: SlackText;
  blocks: Block[];
  /** Slack colours a message only through a legacy attachment's bar; when set, the blocks go inside one. */
  color?: string;
}

/** A message before it is made safe: its text is plain (what the handlers say), never markup. */
export interface DraftMessage {
  text: string;
  blocks: Block[];
}

export interface MessageOptions {
  /** A deliberate `@here` in the notification (a scheduled backup that failed). */
  notifyHere?: boolean;
}

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextElementText: 2000,
  contextElements: 10,
  actionsElements: 25,
  imageAltText: 2000,
  imageTitle: 2000,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  // Slack answers `msg_blocks_too_long` somewhere around 13k; measured on the blocks' JSON, which
  // over-counts, so this keeps a safe margin.
  messageChars: 12_000,
  // The API accepts 40k, but a notification that long is useless.
  fallbackText: 3000,
} as const;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The longest prefix of whole grapheme clusters whose UTF-16 length (what Slack counts) is ≤ budget. */
function prefixWithin(text: string, budget: number): string {
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    if (index + segment.length > budget) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/**
 * Shortens `text` to at most `max` UTF-16 units, ending with `ellipsis` when cut. Cuts only between
 * grapheme clusters, so an emoji sequence or a letter with its accent is kept whole or dropped whole.
 */
export function truncateText(text: string, max: number, ellipsis = '…'): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  const mark = ellipsis.length <= max ? ellipsis : '';
  return prefixWithin(text, max - mark.length).trimEnd() + mark;
}

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters, and breaks runs of
 * three or more backticks with zero-width spaces, so text cannot open or close a code fence.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/`{3,}/g, (run) => run.split('').join('\u200b'));
}

const FENCE = '```';

/**
 * A fenced code block of at most `max` characters, fences included, holding plain `text` (escaped
 * here: `<!channel>` in a query text stays text). Runs of three or more backticks get zero-width
 * spaces between them so they cannot close the fence early.
 */
export function codeBlock(text: string, max: number = LIMITS.sectionText): string {
  const overhead = `${FENCE}\n\n${FENCE}`.length;
  if (max <= overhead) throw new RangeError(`codeBlock: max ${max} leaves no room for the text`);
  const safe = escapeMrkdwn(text.replace(/\n+$/, ''));
  const body = truncateEscaped(safe, max - overhead, '\n…');
  // Slack shows "``````" literally for an empty block.
  return `${FENCE}\n${body === '' ? ' ' : body}\n${FENCE}`;
}

/**
 * A code block of whole lines: as many as fit in `max`, then "+N more" for the rest, so a reader
 * knows how many were left out (a cut line would hide it).
 */
export function codeLines(lines: readonly string[], max: number, more: (count: number) => string): string {
  const overhead = `${FENCE}\n\n${FENCE}`.length;
  let shown = lines.length;
  const body = (count: number): string => [...lines.slice(0, count), ...(count < lines.length ? [more(lines.length - count)] : [])].join('\n');
  while (shown > 0 && escapeMrkdwn(body(shown)).length > max - overhead) shown--;
  return codeBlock(body(shown), max);
}

/** Cuts escaped text without leaving half an entity (`&am`) behind. */
function truncateEscaped(text: string, max: number, ellipsis: string): string {
  if (text.length <= max) return text;
  const cut = truncateText(text, max, ellipsis);
  const kept = cut.endsWith(ellipsis) ? cut.slice(0, cut.length - ellipsis.length) : cut;
  return `${kept.replace(/&[a-z]*$/, '')}${ellipsis}`;
}

/**
 * Truncates mrkdwn without leaving a half entity (`&am`), a half link (`<https://ex`) or an unclosed
 * code fence behind, which Slack would show as raw markup.
 */
function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const closing = `\n${FENCE}`;
  const ellipsis = '…';
  let cut = prefixWithin(text, max - ellipsis.length - closing.length)
    .replace(/<[^>]*$/, '')
    .replace(/&[a-z]*$/, '')
    .trimEnd();
  const fences = cut.split(FENCE).length - 1;
  cut += fences % 2 === 1 ? `${ellipsis}${closing}` : ellipsis;
  return cut;
}

/** Slack rejects empty text objects; a dash shows that something was meant to be there. */
function nonEmpty(text: string): string {
  return text.trim() === '' ? '—' : text;
}

function plain(text: string, max: number): slack.PlainTextElement {
  return { type: 'plain_text', text: truncateText(nonEmpty(text), max), emoji: true };
}

function mrkdwn(text: string, max: number): slack.MrkdwnElement {
  return { type: 'mrkdwn', text: truncateMrkdwn(nonEmpty(text), max) };
}

export function header(text: string): slack.HeaderBlock {
  return { type: 'header', text: plain(text, LIMITS.headerText) };
}

export function section(text: string): slack.SectionBlock {
  return { type: 'section', text: mrkdwn(text, LIMITS.sectionText) };
}

/** Fields shown two per row; more than Slack's 10 per section are spread over several sections. */
export function sectionFields(fields: string[]): slack.SectionBlock[] {
  const sections: slack.SectionBlock[] = [];
  for (let i = 0; i < fields.length; i += LIMITS.fields) {
    const chunk = fields.slice(i, i + LIMITS.fields);
    sections.push({ type: 'section', fields: chunk.map((f) => mrkdwn(f, LIMITS.fieldText)) });
  }
  return sections;
}

/** A context block; elements beyond Slack's 10 are merged into the last one rather than lost. */
export function context(elements: string[]): slack.ContextBlock {
  const max = LIMITS.contextElements;
  const merged =
    elements.length > max ? [...elements.slice(0, max - 1), elements.slice(max - 1).join(' · ')] : elements;
  const list = merged.length === 0 ? [''] : merged;
  return { type: 'context', elements: list.map((e) => mrkdwn(e, LIMITS.contextElementText)) };
}

/** A picture Slack holds: a file the bot shared where the blocks' viewers can see it. */
export function slackFileImage(spec: { fileId: string; altText: string; title?: string }): slack.ImageBlock {
  return {
    type: 'image',
    slack_file: { id: spec.fileId },
    alt_text: truncateText(nonEmpty(spec.altText), LIMITS.imageAltText),
    ...(spec.title ? { title: plain(spec.title, LIMITS.imageTitle) } : {}),
  };
}

export function divider(): slack.DividerBlock {
  return { type: 'divider' };
}

export interface ConfirmSpec {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

export interface ButtonSpec {
  text: string;
  actionId: string;
  value: string;
  style?: slack.ColorScheme;
  confirm?: ConfirmSpec;
}

export function button(spec: ButtonSpec): ButtonElement {
  const element: ButtonElement = {
    type: 'button',
    text: plain(spec.text, LIMITS.buttonText),
    // Identifiers are cut without an ellipsis: one would not make a clipped id any more meaningful.
    action_id: truncateText(spec.actionId, LIMITS.actionId, ''),
    value: truncateText(spec.value, LIMITS.buttonValue, ''),
  };
  if (spec.style !== undefined) element.style = spec.style;
  if (spec.confirm !== undefined) {
    element.confirm = {
      title: plain(spec.confirm.title, LIMITS.confirmTitle),
      text: plain(spec.confirm.text, LIMITS.confirmText),
      confirm: plain(spec.confirm.confirm, LIMITS.confirmButton),
      deny: plain(spec.confirm.deny, LIMITS.confirmButton),
      // The dialog's confirm button should look as dangerous as the button that opened it.
      ...(spec.style === 'danger' ? { style: 'danger' as const } : {}),
    };
  }
  return element;
}

/** An actions block; Slack allows 25 elements, extra buttons are dropped. */
export function actions(blockId: string, buttons: ButtonElement[]): slack.ActionsBlock {
  return {
    type: 'actions',
    block_id: truncateText(blockId, LIMITS.blockId, ''),
    elements: buttons.slice(0, LIMITS.actionsElements),
  };
}

/** The first `max` items rendered, then "… and N more" when the list was cut. */
export function listWithMore<T>(items: T[], max: number, render: (item: T) => string, noun?: string): string[] {
  const shown = items.slice(0, Math.max(0, max)).map(render);
  const rest = items.length - shown.length;
  if (rest > 0) shown.push(`… and ${rest} more${noun === undefined ? '' : ` ${noun}`}`);
  return shown;
}

function cutNotice(count: number): slack.ContextBlock {
  return context([`… ${count} more block${count === 1 ? '' : 's'} cut to fit Slack's limits`]);
}

/**
 * Makes a message Slack will accept: at most 50 blocks and a bounded JSON size. Blocks are dropped
 * from the end and replaced by a notice saying how many were cut. Actions blocks are dropped last,
 * because losing an approval's buttons would leave a request nobody can decide.
 */
export function fitMessage(draft: DraftMessage, options: MessageOptions = {}): Message {
  const text = slackText(draft.text, options);
  const { blocks } = draft;
  const sizes = blocks.map((b) => JSON.stringify(b).length);
  // JSON of an array: brackets plus one comma between elements.
  const jsonSize = (sum: number, count: number): number => 2 + sum + Math.max(0, count - 1);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (blocks.length <= LIMITS.blocks && jsonSize(total, blocks.length) <= LIMITS.messageChars) {
    return { text, blocks };
  }

  const indices = blocks.map((_, i) => i).reverse();
  const dropOrder = [
    ...indices.filter((i) => blocks[i]?.type !== 'actions'),
    ...indices.filter((i) => blocks[i]?.type === 'actions'),
  ];
  const removed = new Set<number>();
  let sum = total;
  for (const i of dropOrder) {
    const kept = blocks.length - removed.size;
    const noticeSize = removed.size === 0 ? 0 : JSON.stringify(cutNotice(removed.size)).length;
    const count = kept + (removed.size === 0 ? 0 : 1);
    if (count <= LIMITS.blocks && jsonSize(sum + noticeSize, count) <= LIMITS.messageChars) break;
    removed.add(i);
    sum -= sizes[i] ?? 0;
  }

  // The notice goes where the content was cut, so kept buttons still come after it.
  const firstRemoved = Math.min(...removed);
  const fitted: Block[] = [];
  blocks.forEach((block, i) => {
    if (i === firstRemoved) fitted.push(cutNotice(removed.size));
    if (!removed.has(i)) fitted.push(block);
  });
  return { text, blocks: fitted };
}

/** A message whose blocks are known to fit; its plain text is escaped for the notification. */
export function message(text: string, blocks: Block[], options: MessageOptions = {}): Message {
  return { text: slackText(text, options), blocks };
}

/** The notification text: plain text escaped (ids named `@U123` become mentions), then clamped. */
function slackText(text: string, options: MessageOptions): SlackText {
  const escaped = truncateMrkdwn(mrkdwnText(text), LIMITS.fallbackText - (options.notifyHere ? 8 : 0));
  return (options.notifyHere ? `<!here> ${escaped}` : escaped) as SlackText;
}

/** "Measured at 2026-11-29 11:20:05 UTC": every figure in an answer is a snapshot. */
export function measuredAt(date: Date): slack.ContextBlock {
  return context([`Measured at ${formatTime(date)}`]);
}

/** A statement as a one-line code block: whitespace folded, cut safely, escaped for Slack. */
export function sqlSnippet(query: string, max: number): string {
  return codeBlock(truncateText(query.replace(/\s+/g, ' ').trim(), max));
}

/**
 * Plain text from the handlers (commands, notes, decisions) made safe for mrkdwn, with the user,
 * user-group and channel ids they name (`@U123`, `@S456`, `#C789`) turned into Slack mentions.
 */
export function mrkdwnText(text: string): string {
  return escapeMrkdwn(text)
    .replace(/(^|[\s(])@([UW][A-Z0-9_]+)/g, '$1<@$2>')
    .replace(/(^|[\s(])@(S[A-Z0-9_]+)/g, '$1<!subteam^$2>')
    .replace(/(^|[\s(])#([CG][A-Z0-9_]+)\b/g, '$1<#$2>');
}

/**
 * A mrkdwn link to an http(s) URL taken from elsewhere (an alert's generatorURL, a runbook), or
 * just the label when it is not one: `<`, `>` and `|` would end Slack's link markup early.
 */
export function mrkdwnLink(url: string, label: string): string {
  if (!/^https?:\/\/[^\s]+$/i.test(url)) return escapeMrkdwn(label);
  const safe = url.replace(/[<>|]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;');
  return `<${safe}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}

/** Who did it: a Slack user (`U…`) as a mention, the bot itself or Alertmanager by name. */
export function actorMention(actor: string): string {
  return /^[UW][A-Z0-9_]+$/.test(actor) ? `<@${actor}>` : `_${escapeMrkdwn(actor)}_`;
}
