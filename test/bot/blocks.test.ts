import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  actions,
  button,
  codeBlock,
  context,
  divider,
  escapeMrkdwn,
  fitMessage,
  header,
  listWithMore,
  measuredAt,
  section,
  sectionFields,
  truncateText,
  type Block,
} from '../../src/bot/blocks.js';

/** True when the string holds a lone surrogate, i.e. a character was cut in half. */
const hasLoneSurrogate = (s: string): boolean => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('truncateText', () => {
  it('returns short text unchanged', () => {
    expect(truncateText('hello', 5)).toBe('hello');
  });

  it('cuts to max including the ellipsis', () => {
    expect(truncateText('hello world', 8)).toBe('hello w…');
    expect(truncateText('hello world', 8, '')).toBe('hello wo');
  });

  it('never splits an emoji ZWJ sequence, a surrogate pair or a combining sequence', () => {
    const family = '👩‍👩‍👧';
    const text = `ab${family}${family}cd`;
    const boundaries = new Set(Array.from(new Intl.Segmenter().segment(text), (g) => g.index));
    for (let max = 0; max < text.length; max++) {
      const out = truncateText(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(hasLoneSurrogate(out)).toBe(false);
      // The kept part is a prefix ending between grapheme clusters: no partial ZWJ sequence.
      const kept = out.replace(/…$/, '');
      expect(text.startsWith(kept)).toBe(true);
      expect(boundaries.has(kept.length)).toBe(true);
    }

    const accented = 'caf' + 'e\u0301' + 'x';
    expect(truncateText(accented, 5)).toBe('caf…');
    expect(truncateText('😀😀😀', 4)).toBe('😀…');
    expect(truncateText('😀😀😀', 2, '')).toBe('😀');
    expect(truncateText('😀😀😀', 1, '')).toBe('');
  });

  it('drops the ellipsis when it does not fit', () => {
    expect(truncateText('hello', 0)).toBe('');
    expect(truncateText('hello', 2, '...')).toBe('he');
  });
});

describe('codeBlock', () => {
  it('wraps text in fences', () => {
    expect(codeBlock('SELECT 1')).toBe('```\nSELECT 1\n```');
  });

  it('neutralises fences inside the text and stays within max', () => {
    const text = 'x```y\n' + 'q'.repeat(10_000);
    const out = codeBlock(text);
    expect(out.length).toBeLessThanOrEqual(3000);
    expect(out.startsWith('```\n')).toBe(true);
    expect(out.endsWith('\n```')).toBe(true);
    // Exactly the two fences: nothing inside can close the block early.
    expect(out.split('```')).toHaveLength(3);
    expect(out).toContain('…');
  });

  it('respects a smaller max and long backtick runs', () => {
    const out = codeBlock('`````'.repeat(50), 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.split('```')).toHaveLength(3);
  });
});

describe('escapeMrkdwn', () => {
  it('escapes &, < and >', () => {
    expect(escapeMrkdwn('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
  });
});

describe('builders', () => {
  it('truncates header and section text', () => {
    const h = header('h'.repeat(500));
    expect(h.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    const s = section('s'.repeat(5000));
    expect(s.text?.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
  });

  it('closes a code fence cut by section truncation and keeps no half link', () => {
    const s = section('intro\n```\n' + 'x'.repeat(4000) + '\n```');
    const text = s.text?.text ?? '';
    expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    expect(text.split('```')).toHaveLength(3);
    const link = section('y'.repeat(2990) + ' <https://example.com/a/long/path|label>');
    expect(link.text?.text).not.toContain('<');
  });

  it('replaces empty text, which Slack rejects', () => {
    expect(section('').text?.text).not.toBe('');
    expect(context([]).elements).toHaveLength(1);
  });

  it('splits 13 fields into two sections', () => {
    const fields = Array.from({ length: 13 }, (_, i) => `*F${i}*\n${'v'.repeat(3000)}`);
    const sections = sectionFields(fields);
    expect(sections).toHaveLength(2);
    expect(sections[0]?.fields).toHaveLength(10);
    expect(sections[1]?.fields).toHaveLength(3);
    for (const f of sections.flatMap((s) => s.fields ?? [])) expect(f.text.length).toBeLessThanOrEqual(2000);
  });

  it('merges context elements beyond ten into the last one', () => {
    const c = context(Array.from({ length: 12 }, (_, i) => `e${i}`));
    expect(c.elements).toHaveLength(10);
    expect(c.elements[9]).toMatchObject({ text: 'e9 · e10 · e11' });
  });

  it('truncates button strings and confirm dialog texts', () => {
    const b = button({
      text: 'B'.repeat(100),
      actionId: 'a'.repeat(300),
      value: 'v'.repeat(3000),
      style: 'danger',
      confirm: { title: 'T'.repeat(200), text: 'X'.repeat(500), confirm: 'C'.repeat(50), deny: 'D'.repeat(50) },
    });
    expect(b.text.text.length).toBeLessThanOrEqual(75);
    expect(b.action_id?.length).toBe(255);
    expect(b.value?.length).toBe(2000);
    expect(b.style).toBe('danger');
    expect(b.confirm?.title?.text.length).toBeLessThanOrEqual(100);
    expect(b.confirm?.text.text.length).toBeLessThanOrEqual(300);
    expect(b.confirm?.confirm?.text.length).toBeLessThanOrEqual(30);
    expect(b.confirm?.deny?.text.length).toBeLessThanOrEqual(30);
    expect(b.confirm?.style).toBe('danger');
  });

  it('builds actions blocks of at most 25 elements', () => {
    const buttons = Array.from({ length: 30 }, (_, i) => button({ text: `b${i}`, actionId: `a${i}`, value: `${i}` }));
    const a = actions('approval', buttons);
    expect(a).toMatchObject({ type: 'actions', block_id: 'approval' });
    expect(a.elements).toHaveLength(25);
  });

  it('stamps the measurement time in UTC', () => {
    expect(measuredAt(new Date('2026-11-29T11:20:05.123Z'))).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Measured at 2026-11-29 11:20:05 UTC' }],
    });
  });
});

describe('listWithMore', () => {
  const render = (n: number): string => `item ${n}`;

  it('keeps short lists whole', () => {
    expect(listWithMore([1, 2], 3, render)).toEqual(['item 1', 'item 2']);
  });

  it('says how many were left out', () => {
    expect(listWithMore([1, 2, 3, 4, 5], 2, render, 'queries')).toEqual(['item 1', 'item 2', '… and 3 more queries']);
    expect(listWithMore([1, 2, 3], 2, render)).toEqual(['item 1', 'item 2', '… and 1 more']);
  });
});

describe('fitMessage', () => {
  const blocksJsonSize = (blocks: Block[]): number => JSON.stringify(blocks).length;

  it('leaves a message within limits alone', () => {
    const message = { text: 'hi', blocks: [header('Hi'), divider(), section('body')] };
    expect(fitMessage(message)).toEqual(message);
  });

  it('cuts 80 blocks to 50 with a notice at the end', () => {
    const blocks = Array.from({ length: 80 }, (_, i) => section(`row ${i}`));
    const fitted = fitMessage({ text: 't'.repeat(5000), blocks });
    expect(fitted.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(fitted.blocks.at(-1)).toEqual(context(["… 31 more blocks cut to fit Slack's limits"]));
    expect(fitted.blocks[0]).toEqual(blocks[0]);
    expect(blocksJsonSize(fitted.blocks)).toBeLessThanOrEqual(LIMITS.messageChars);
    expect(fitted.text.length).toBeLessThanOrEqual(3000);
  });

  it('enforces the character budget', () => {
    const blocks = Array.from({ length: 20 }, () => section('x'.repeat(2900)));
    const fitted = fitMessage({ text: 'big', blocks });
    expect(blocksJsonSize(fitted.blocks)).toBeLessThanOrEqual(LIMITS.messageChars);
    const notice = fitted.blocks.at(-1);
    expect(notice?.type).toBe('context');
    expect(JSON.stringify(notice)).toMatch(/… \d+ more blocks cut/);
    expect(fitted.blocks.length).toBeGreaterThan(1);
  });

  it('keeps an approval request’s buttons, placing the notice before them', () => {
    const buttons = actions('approval', [
      button({ text: 'Approve', actionId: 'approval_approve', value: '1' }),
      button({ text: 'Reject', actionId: 'approval_reject', value: '1' }),
    ]);
    const blocks: Block[] = [header('Approval'), ...Array.from({ length: 60 }, (_, i) => section(`target ${i}`)), buttons];
    const fitted = fitMessage({ text: 'approval', blocks });
    expect(fitted.blocks).toHaveLength(LIMITS.blocks);
    expect(fitted.blocks.at(-1)).toEqual(buttons);
    expect(fitted.blocks.at(-2)?.type).toBe('context');
  });
});
