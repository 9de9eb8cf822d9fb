// Renders the Block Kit the bot posts to Slack as terminal text, so the local console shows exactly
// what Slack would: the console never builds its own answers, it renders these.
import type { types as slack } from '@slack/bolt';
import type { Block, DraftMessage } from './blocks.js';

export interface Choice {
  number: number;
  label: string;
  actionId: string;
  value: string;
  /** The confirm dialog's text, when the button asks for confirmation. */
  confirm?: string;
}

export interface RenderedMessage {
  text: string;
  choices: Choice[];
}

export interface RenderOptions {
  /** Columns to wrap at; default 100. */
  width?: number;
  /** ANSI bold for headers and *bold*, dim for context; default false. */
  color?: boolean;
}

/** A rendered line; preformatted lines (code, aligned buttons) are never re-wrapped. */
interface Line {
  text: string;
  pre: boolean;
}

const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  warning: '⚠️',
  red_circle: '🔴',
  large_green_circle: '🟢',
  hourglass_flowing_sand: '⏳',
  x: '❌',
  pushpin: '📌',
  rotating_light: '🚨',
  information_source: 'ℹ️',
  arrow_forward: '▶️',
  no_entry: '⛔',
  heavy_minus_sign: '➖',
  hourglass: '⌛',
  floppy_disk: '💾',
  raised_hand: '✋',
  small_blue_diamond: '🔹',
  fire: '🔥',
  no_bell: '🔕',
  bell: '🔔',
};

const ANSI = /\x1b\[[0-9;]*m/g; // eslint-disable-line no-control-regex
const bold = (s: string): string => `\x1b[1m${s}\x1b[22m`;
const dim = (s: string): string => `\x1b[2m${s}\x1b[22m`;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (s: string): string[] => Array.from(segmenter.segment(s), (g) => g.segment);

/** Terminal columns: emoji and East Asian wide characters take two, zero-width characters none. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const g of graphemes(text.replace(ANSI, ''))) {
    if (/^[\u200b-\u200f\u2060\ufeff]$/.test(g)) continue;
    const wide =
      /\p{Emoji_Presentation}|\ufe0f|\p{Regional_Indicator}/u.test(g) ||
      /^[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(g);
    width += wide ? 2 : 1;
  }
  return width;
}

const padEnd = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));

function unescapeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emojify(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole);
}

/** `<url|label>`, `<@U1>`, `<#C1|name>`, `<!here>` as a reader would say them. */
function renderEntity(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : inner.slice(bar + 1);
  switch (target[0]) {
    case '@':
      return label !== undefined ? `@${label.replace(/^@/, '')}` : target;
    case '#':
      return `#${label ?? target.slice(1)}`;
    case '!':
      return label ?? `@${target.slice(1).split('^')[0]}`;
    default:
      return label === undefined || label === target ? target : `${label} (${target})`;
  }
}

/**
 * Inline mrkdwn (no code fences) to terminal text. Links and `code` spans are swapped for
 * placeholders first, so that emphasis never reaches into a URL or a code span, yet still applies
 * around them (`*<url|label>*`).
 */
function convertInline(text: string, color: boolean): string {
  const held: string[] = [];
  const hold = (s: string): string => `\ue000${held.push(s) - 1}\ue001`;
  let out = text
    .replace(/`[^`\n]+`/g, (code) => hold(unescapeEntities(code)))
    .replace(/<([^<>\n]+)>/g, (_, inner: string) => hold(unescapeEntities(renderEntity(inner))));
  out = emojify(out);
  // Slack only treats markers as emphasis at word boundaries, which keeps snake_case intact.
  out = out.replace(/(^|[^\p{L}\p{N}*])\*(?=\S)([^*\n]*?[^\s*])\*(?![\p{L}\p{N}*])/gu, (_, pre: string, s: string) =>
    pre + (color ? bold(s) : s),
  );
  out = out.replace(/(^|[^\p{L}\p{N}_])_(?=\S)([^_\n]*?[^\s_])_(?![\p{L}\p{N}_])/gu, '$1$2');
  out = out.replace(/(^|[^\p{L}\p{N}~])~(?=\S)([^~\n]*?[^\s~])~(?![\p{L}\p{N}~])/gu, '$1$2');
  out = unescapeEntities(out);
  return out.replace(/\ue000(\d+)\ue001/g, (_, i: string) => held[Number(i)] ?? '');
}

/** mrkdwn to lines: fenced code becomes an indented, unwrapped block. */
function convertMrkdwn(text: string, color: boolean): Line[] {
  const lines: Line[] = [];
  const prose = (s: string): void => {
    for (const l of convertInline(s, color).split('\n')) lines.push({ text: l, pre: false });
  };
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    const before = text.slice(last, m.index).replace(/\n$/, '');
    if (before.trim() !== '') prose(before);
    const code = unescapeEntities((m[1] ?? '').replace(/^\n/, '').replace(/\n$/, ''));
    for (const l of code.split('\n')) lines.push({ text: `    ${l}`.trimEnd(), pre: true });
    last = m.index + m[0].length;
  }
  const rest = text.slice(last).replace(/^\n/, '');
  if (last === 0 || rest.trim() !== '') prose(rest);
  return lines;
}

/** A text object on one line (fields, context, dialogs). */
function textOf(obj: slack.TextObject, color: boolean): string {
  if (obj.type === 'plain_text') return obj.emoji === false ? obj.text : emojify(obj.text);
  return convertMrkdwn(obj.text, color)
    .map((l) => l.text.trim())
    .filter((l) => l !== '')
    .join(' ');
}

function textLines(obj: slack.TextObject, color: boolean): Line[] {
  if (obj.type === 'plain_text') return [{ text: textOf(obj, color), pre: false }];
  return convertMrkdwn(obj.text, color);
}

/** Fields are usually "*Label*\nvalue"; on a terminal that reads best as "Label: value". */
function fieldText(obj: slack.TextObject, color: boolean): string {
  const labelled = obj.type === 'mrkdwn' ? /^\*([^*\n]+)\*\n([\s\S]*)$/.exec(obj.text) : null;
  if (labelled === null) return textOf(obj, color);
  const label = convertInline(labelled[1] ?? '', color);
  const value = textOf({ type: 'mrkdwn', text: labelled[2] ?? '' }, color);
  return `${color ? bold(label) : label}: ${value}`;
}

/** Two fields per row, the right column aligned unless a left field is too wide for it. */
function fieldLines(fields: slack.TextObject[], width: number, color: boolean): Line[] {
  const texts = fields.map((f) => fieldText(f, color));
  const gap = 4;
  const maxColumn = Math.floor(width / 2) - gap;
  const lefts = texts.filter((_, i) => i % 2 === 0).map(displayWidth);
  const column = Math.min(Math.max(0, ...lefts), maxColumn) + gap;
  const lines: Line[] = [];
  for (let i = 0; i < texts.length; i += 2) {
    const left = texts[i] ?? '';
    const right = texts[i + 1];
    if (right === undefined) lines.push({ text: left, pre: false });
    else if (displayWidth(left) + gap > column) lines.push({ text: left, pre: false }, { text: right, pre: false });
    else lines.push({ text: padEnd(left, column) + right, pre: false });
  }
  return lines;
}

/** Greedy word wrap with a hanging indent for bullets and indented text. */
function wrap(line: string, width: number): string[] {
  if (displayWidth(line) <= width) return [line];
  const indent = /^\s*(?:(?:[•◦▪*-]|\d+[.)])\s+)?/.exec(line)?.[0] ?? '';
  const hanging = ' '.repeat(Math.min(displayWidth(indent), Math.floor(width / 2)));
  const out: string[] = [];
  let current = indent;
  let prefix = indent;
  const flush = (): void => {
    out.push(current.trimEnd());
    prefix = hanging;
    current = hanging;
  };
  for (const word of line.slice(indent.length).split(/ +/).filter((w) => w !== '')) {
    const sep = current === prefix ? '' : ' ';
    if (displayWidth(current + sep + word) <= width) {
      current += sep + word;
      continue;
    }
    if (current !== prefix) flush();
    // A word longer than a whole line (a URL, a hash) is broken between graphemes.
    let piece = '';
    for (const g of graphemes(word)) {
      if (displayWidth(current + piece + g) > width && piece !== '') {
        current += piece;
        flush();
        piece = '';
      }
      piece += g;
    }
    current += piece;
  }
  if (current.trim() !== '') out.push(current.trimEnd());
  return out;
}

/** Renders a message the bot built, or one as Slack received it (plain strings). */
export function renderBlocks(message: DraftMessage, opts: RenderOptions = {}): RenderedMessage {
  const width = Math.max(20, opts.width ?? 100);
  const color = opts.color ?? false;
  const choices: Choice[] = [];
  const lines: Line[] = [];
  const push = (text: string, pre = false): void => {
    lines.push({ text, pre });
  };

  const choiceFor = (b: slack.Button): string => {
    const label = textOf(b.text, false);
    const choice: Choice = { number: choices.length + 1, label, actionId: b.action_id ?? '', value: b.value ?? '' };
    if (b.confirm !== undefined) choice.confirm = textOf(b.confirm.text, false);
    choices.push(choice);
    return `[${choice.number}] ${label}${b.url === undefined ? '' : ` (${b.url})`}`;
  };

  /** Buttons packed onto as few lines as fit, never splitting one. */
  const buttonLines = (labels: string[]): void => {
    let current = '';
    for (const label of labels) {
      const next = current === '' ? label : `${current}  ${label}`;
      if (current !== '' && displayWidth(next) > width) {
        push(current, true);
        current = label;
      } else current = next;
    }
    if (current !== '') push(current, true);
  };

  const renderBlock = (block: Block): void => {
    switch (block.type) {
      case 'header': {
        const text = textOf(block.text, false);
        push(color ? bold(text) : text);
        push('═'.repeat(Math.min(width, Math.max(1, displayWidth(text)))), true);
        return;
      }
      case 'section': {
        if (block.text !== undefined) lines.push(...textLines(block.text, color));
        if (block.fields !== undefined) lines.push(...fieldLines(block.fields, width, color));
        if (block.accessory?.type === 'button') buttonLines([choiceFor(block.accessory)]);
        return;
      }
      case 'context': {
        const parts = block.elements.map((e) =>
          e.type === 'plain_text' || e.type === 'mrkdwn' ? textOf(e, false) : `[image: ${e.alt_text}]`,
        );
        const text = parts.join(' · ');
        push(color ? dim(text) : text);
        return;
      }
      case 'divider':
        push('─'.repeat(width), true);
        return;
      case 'actions':
        buttonLines(block.elements.map((e) => (e.type === 'button' ? choiceFor(e) : `[unsupported element: ${e.type}]`)));
        return;
      case 'image':
        push(`[image: ${block.alt_text ?? block.title?.text ?? 'image'}]`);
        return;
      default:
        // Messages can hold block types this renderer (or these typings) do not know yet.
        push(`[unsupported block: ${(block as { type: string }).type}]`);
    }
  };

  if (message.blocks.length === 0) lines.push(...convertMrkdwn(message.text, color));
  for (const block of message.blocks) renderBlock(block);

  const text = lines.flatMap((l) => (l.pre ? [l.text] : wrap(l.text, width))).join('\n');
  return { text, choices };
}
