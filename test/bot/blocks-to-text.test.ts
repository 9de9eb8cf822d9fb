import { describe, expect, it } from 'vitest';
import {
  actions,
  button,
  codeBlock,
  context,
  divider,
  header,
  measuredAt,
  section,
  sectionFields,
  type Block,
  type DraftMessage,
} from '../../src/bot/blocks.js';
import { displayWidth, renderBlocks } from '../../src/bot/blocks-to-text.js';

const render = (blocks: Block[], width?: number): string => renderBlocks({ text: 'fallback', blocks }, { width }).text;

function approvalMessage(): DraftMessage {
  return {
    text: 'Approval needed: kill 2 backends',
    blocks: [
      header(':rotating_light: Approval needed: kill 2 backends'),
      ...sectionFields([
        '*Action*\nkill --older-than 10m',
        '*Requested by*\n<@U123ABC>',
        '*Expires*\n2026-11-29 11:35 UTC',
        '*Request*\n`apr_42`',
      ]),
      section(`*Targets*\n${codeBlock('4211  SELECT * FROM recipes WHERE rating < 3\n4212  idle in transaction')}`),
      actions('approval', [
        button({
          text: 'Approve',
          actionId: 'approval_approve',
          value: 'apr_42',
          style: 'primary',
          confirm: { title: 'Kill backends?', text: 'Terminate 2 backends now?', confirm: 'Kill', deny: 'Cancel' },
        }),
        button({
          text: 'Reject',
          actionId: 'approval_reject',
          value: 'apr_42',
          style: 'danger',
          confirm: { title: 'Reject?', text: 'Reject this request?', confirm: 'Reject', deny: 'Cancel' },
        }),
      ]),
      measuredAt(new Date('2026-11-29T11:20:05Z')),
    ],
  };
}

describe('renderBlocks', () => {
  it('renders an approval request as readable text with numbered choices', () => {
    const { text, choices } = renderBlocks(approvalMessage());
    expect(text).toBe(
      [
        '🚨 Approval needed: kill 2 backends',
        '═'.repeat(displayWidth('🚨 Approval needed: kill 2 backends')),
        'Action: kill --older-than 10m    Requested by: @U123ABC',
        'Expires: 2026-11-29 11:35 UTC    Request: `apr_42`',
        'Targets',
        '    4211  SELECT * FROM recipes WHERE rating < 3',
        '    4212  idle in transaction',
        '[1] Approve  [2] Reject',
        'Measured at 2026-11-29 11:20:05 UTC',
      ].join('\n'),
    );
    expect(choices).toEqual([
      { number: 1, label: 'Approve', actionId: 'approval_approve', value: 'apr_42', confirm: 'Terminate 2 backends now?' },
      { number: 2, label: 'Reject', actionId: 'approval_reject', value: 'apr_42', confirm: 'Reject this request?' },
    ]);
  });

  it('numbers buttons across the whole message', () => {
    const b = (n: string): ReturnType<typeof button> => button({ text: n, actionId: n, value: n });
    const { text, choices } = renderBlocks({ text: '', blocks: [actions('a', [b('one')]), divider(), actions('b', [b('two'), b('three')])] });
    expect(text).toContain('[1] one');
    expect(text).toContain('[2] two  [3] three');
    expect(choices.map((c) => c.number)).toEqual([1, 2, 3]);
    expect(choices[0]).not.toHaveProperty('confirm');
  });

  it('converts mrkdwn emphasis, code and entities', () => {
    expect(render([section('*bold* _italic_ ~struck~ `*raw* code` snake_case_name 2*3*4')])).toBe(
      'bold italic struck `*raw* code` snake_case_name 2*3*4',
    );
    expect(render([section('a &lt; b &amp;&amp; c &gt; d')])).toBe('a < b && c > d');
    expect(render([section(':white_check_mark: ok :warning: :x: :large_green_circle: :custom_thing:')])).toBe(
      '✅ ok ⚠️ ❌ 🟢 :custom_thing:',
    );
  });

  it('renders links, mentions and channels', () => {
    expect(render([section('See <https://example.com/runbook|the runbook> or <https://example.com>')])).toBe(
      'See the runbook (https://example.com/runbook) or https://example.com',
    );
    expect(render([section('Ping <@U123> in <#C1|ops> <!here>')])).toBe('Ping @U123 in #ops @here');
    expect(render([section('*<https://example.com/x_y_z|link>*')])).toBe('link (https://example.com/x_y_z)');
  });

  it('uses ANSI bold for headers and *bold* only when asked', () => {
    const message: DraftMessage = { text: '', blocks: [header('Status'), section('db is *up*')] };
    const colored = renderBlocks(message, { color: true }).text;
    expect(colored).toContain('\x1b[1mStatus\x1b[22m');
    expect(colored).toContain('db is \x1b[1mup\x1b[22m');
    expect(renderBlocks(message).text).not.toContain('\x1b[');
  });

  it('indents fenced code without fences and never wraps it', () => {
    const long = 'x'.repeat(150);
    const text = render([section(`before\n${codeBlock(long)}\nafter`)], 40);
    expect(text.split('\n')).toEqual(['before', `    ${long}`, 'after']);
  });

  it('wraps long prose at the width with a hanging indent for bullets', () => {
    const text = render([section(`• ${'word '.repeat(30)}`)], 30);
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(30);
    expect(lines[1]?.startsWith('  word')).toBe(true);
  });

  it('renders context, divider and unsupported blocks', () => {
    const text = render([context(['one', '*two*']), divider(), { type: 'mystery' } as unknown as Block], 40);
    expect(text).toBe(['one · two', '─'.repeat(40), '[unsupported block: mystery]'].join('\n'));
  });

  it('falls back to the message text when there are no blocks', () => {
    expect(renderBlocks({ text: 'Backup *done*', blocks: [] }).text).toBe('Backup done');
  });
});
