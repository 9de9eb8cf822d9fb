/**
 * How `logs` and `top` look, from typed results (what the handlers return:
 * test/handlers/logs-top.test.ts), asserted on the blocks Slack receives.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/bot/blocks.js';
import { logsView } from '../../../src/bot/views/logs-view.js';
import { topView } from '../../../src/bot/views/top-view.js';
import type { LogsResult, PodLogLines } from '../../../src/handlers/logs.js';
import { allMrkdwn, blocksJsonSize, headerOf, mrkdwnOf } from '../../support/blocks.js';

const measuredAt = new Date('2026-12-01T03:00:00Z');
const A = 'recipe-database-7d9f8b-aaaaa';
const B = 'recipe-database-7d9f8b-bbbbb';

function logsResult(pods: PodLogLines[], over: Partial<Extract<LogsResult, { configured: true }>> = {}): Extract<LogsResult, { configured: true }> {
  return {
    configured: true, measuredAt, namespace: 'recipe-database', deployment: 'recipe-database', container: 'recipe-database',
    lines: 100, since: null, grep: null, previous: false, scanLines: null, pods, ...over,
  };
}

const line = (text: string, error = false) => ({ text, error });

describe('logs view', () => {
  it('shows each pod with its lines, errors marked and counted, escaped for Slack', () => {
    const message = logsView(
      logsResult([
        {
          pod: A, scanned: 3, error: null,
          lines: [
            line('2026-11-29 09:30:00 UTC [77] ERROR:  relation "recipe_manager.recipe" does not exist', true),
            line('2026-11-29 10:30:00 UTC [78] LOG:  checkpoint starting: time'),
            line(`2026-11-29 10:55:00 UTC [81] LOG:  statement: SELECT 1 WHERE note = 'x<y & z>w'`),
          ],
        },
        { pod: B, scanned: 1, error: null, lines: [line('replica says hello')] },
      ]),
    );
    expect(headerOf(message)).toBe('Logs of recipe-database/recipe-database');
    const texts = mrkdwnOf(message);
    expect(texts).toContain('last 100 lines · container recipe-database');
    expect(texts).toContain(
      `*${A}* — 3 lines · 🔴 1 error (ERROR/FATAL/PANIC)\n\`\`\`\n🔴 2026-11-29 09:30:00 UTC [77] ERROR:  relation "recipe_manager.recipe" does not exist\n2026-11-29 10:30:00 UTC [78] LOG:  checkpoint starting: time\n2026-11-29 10:55:00 UTC [81] LOG:  statement: SELECT 1 WHERE note = 'x&lt;y &amp; z&gt;w'\n\`\`\``,
    );
    expect(texts).toContain(`*${B}* — 1 line · no errors\n\`\`\`\nreplica says hello\n\`\`\``);
    expect(message.text).toBe('Logs of recipe-database/recipe-database: 4 lines, 1 error');
  });

  it('says what was searched, since when, and which pods had nothing', () => {
    const texts = mrkdwnOf(logsView(logsResult([{ pod: B, scanned: 1, error: null, lines: [] }], { grep: 'connection RESET', scanLines: 5_000, since: '1h' })));
    expect(texts).toContain('last 100 lines containing "connection RESET" (any case) among the newest 5000 of each pod · since 1h ago · container recipe-database');
    expect(texts).toContain(`*${B}*: no matching lines among the 1 read`);
  });

  it('keeps a long log within Slack limits, the newest lines kept, and says how many errors it left out', () => {
    const lines = Array.from({ length: 1_000 }, (_, i) => line(`2026-11-29 10:00:00 UTC [${i}] ${i % 97 === 0 ? 'ERROR' : 'LOG'}:  line ${i} ${'x'.repeat(120)}`, i % 97 === 0));
    const message = logsView(logsResult([{ pod: B, scanned: 1_000, error: null, lines }], { lines: 1_000 }));
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(blocksJsonSize(message)).toBeLessThanOrEqual(LIMITS.messageChars);
    const all = allMrkdwn(message);
    expect(all).toContain('line 999 ');
    expect(all).not.toContain('line 0 ');
    expect(all).toMatch(/… \d+ earlier lines not shown/);
    expect(all).toMatch(new RegExp(`\\*${B}\\* — 1000 lines · 🔴 11 errors \\(ERROR/FATAL/PANIC\\), \\d+ of them in the lines not shown \\(try --grep ERROR\\) · newest \\d+ shown`));
  });

  it('names the previous containers, and a pod whose log could not be read', () => {
    const message = logsView(logsResult([{ pod: B, scanned: 0, error: 'no previous container: recipe-database has not restarted in this pod', lines: [] }], { previous: true }));
    expect(headerOf(message)).toBe('Previous logs of recipe-database/recipe-database');
    expect(mrkdwnOf(message)).toContain(`*${B}*: log unavailable — no previous container: recipe-database has not restarted in this pod`);
  });

  it('says in one line that Kubernetes is not configured', () => {
    const message = logsView({ configured: false });
    expect(mrkdwnOf(message)).toEqual(['Kubernetes is not configured, so there are no pod logs to read: set KUBECONFIG, or run the bot in the cluster.']);
  });
});

describe('top view', () => {
  const pods = {
    ok: true as const, note: null,
    items: [
      { name: A, node: 'node-a', cpuCores: 0.81, memoryBytes: 930 * 2 ** 20, cpuLimit: 1.1, memoryLimit: 1152 * 2 ** 20 },
      { name: B, node: 'node-b', cpuCores: 0.055, memoryBytes: 220 * 2 ** 20, cpuLimit: 1.1, memoryLimit: 1152 * 2 ** 20 },
    ],
  };

  it('shows the pods as kubectl top does, with their share of the limits, and why nodes are missing', () => {
    const message = topView({
      configured: true, measuredAt, namespace: 'recipe-database', pods,
      nodes: { ok: false, reason: "the bot's Kubernetes account may not read nodes (apply deploy/optional/node-read.yaml to allow it)" },
    });
    expect(headerOf(message)).toBe('Resource usage');
    const [podTable, nodes] = mrkdwnOf(message);
    expect(podTable).toMatch(/^\*Pods\* in recipe-database\n```\nNAME\s+CPU\s+CPU\/LIMIT\s+MEMORY\s+MEMORY\/LIMIT\s+NODE\n/);
    expect(podTable).toMatch(new RegExp(`${A}\\s+810m\\s+74%\\s+930Mi\\s+81%\\s+node-a`));
    expect(podTable).toMatch(new RegExp(`${B}\\s+55m\\s+5%\\s+220Mi\\s+19%\\s+node-b`));
    expect(nodes).toBe("*Nodes*: unavailable — the bot's Kubernetes account may not read nodes (apply deploy/optional/node-read.yaml to allow it)");
    expect(message.text).toBe('Resource usage: 2 pods, nodes unavailable');
  });

  it('shows the nodes with their share of what they can give, and a note when capacity is unknown', () => {
    const message = topView({
      configured: true, measuredAt, namespace: 'recipe-database', pods,
      nodes: {
        ok: true, note: "allocatable capacity unknown: the bot's Kubernetes account may not list nodes (403 Forbidden)",
        items: [
          { name: 'node-a', cpuCores: 1.5, memoryBytes: 6 * 2 ** 30, allocatableCpu: 4, allocatableMemory: 16 * 2 ** 30 },
          { name: 'node-b', cpuCores: 0.25, memoryBytes: 2 * 2 ** 30, allocatableCpu: null, allocatableMemory: null },
        ],
      },
    });
    const all = allMrkdwn(message);
    expect(all).toMatch(/NAME\s+CPU\s+CPU%\s+MEMORY\s+MEMORY%/);
    expect(all).toMatch(/node-a\s+1\.5 cores\s+38%\s+6Gi\s+38%/);
    expect(all).toMatch(/node-b\s+250m\s+-\s+2Gi\s+-/);
    expect(mrkdwnOf(message)).toContain("allocatable capacity unknown: the bot's Kubernetes account may not list nodes (403 Forbidden)");
  });

  it('says in one line when there is no metrics API, or no Kubernetes', () => {
    const none = topView({ configured: true, measuredAt, namespace: 'recipe-database', pods: { ok: false, reason: 'the metrics API (metrics-server) is not installed' }, nodes: { ok: false, reason: 'the metrics API (metrics-server) is not installed' } });
    expect(mrkdwnOf(none)).toContain('*Pods* in recipe-database: unavailable — the metrics API (metrics-server) is not installed');
    expect(mrkdwnOf(topView({ configured: false }))).toEqual([
      'Kubernetes is not configured, so there is no pod or node usage to show: set KUBECONFIG, or run the bot in the cluster.',
    ]);
  });
});
