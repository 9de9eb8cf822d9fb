import type { TopResult } from '../../handlers/top.js';
import type { NodeTop, PodTop, TopPart } from '../../ops/kube/top.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, measuredAt, message, section, type Block, type Message } from '../blocks.js';
import { formatCpu, formatMemory, formatShare } from '../../format.js';

// Rows per table: the tables are code blocks, which Slack caps at 3,000 characters each.
const MAX_ROWS = 20;

export function topView(result: TopResult): Message {
  if (!result.configured) {
    const text = 'Kubernetes is not configured, so there is no pod or node usage to show: set KUBECONFIG, or run the bot in the cluster.';
    return message(text, [section(text)]);
  }
  const blocks: Block[] = [
    header('Resource usage'),
    ...part(`*Pods* in ${escapeMrkdwn(result.namespace)}`, result.pods, podTable, 'no pods with metrics in this namespace'),
    ...part('*Nodes*', result.nodes, nodeTable, 'no nodes with metrics'),
    measuredAt(result.measuredAt),
  ];
  const pods = result.pods.ok ? `${result.pods.items.length} pods` : 'pods unavailable';
  const nodes = result.nodes.ok ? `${result.nodes.items.length} nodes` : 'nodes unavailable';
  return fitMessage({ text: `Resource usage: ${pods}, ${nodes}`, blocks });
}

function part<T>(title: string, data: TopPart<T>, table: (items: T[]) => string, empty: string): Block[] {
  if (!data.ok) return [section(`${title}: unavailable — ${escapeMrkdwn(data.reason)}`)];
  if (data.items.length === 0) return [section(`${title}: ${empty}`)];
  const blocks: Block[] = [section(`${title}\n${codeBlock(table(data.items))}`)];
  if (data.note !== null) blocks.push(context([escapeMrkdwn(data.note)]));
  return blocks;
}

/** `kubectl top pods` columns, plus each pod's share of its limits and its node. */
function podTable(pods: PodTop[]): string {
  const rows = pods.slice(0, MAX_ROWS).map((p) => [
    p.name,
    formatCpu(p.cpuCores),
    formatShare(p.cpuCores, p.cpuLimit) ?? '-',
    formatMemory(p.memoryBytes),
    formatShare(p.memoryBytes, p.memoryLimit) ?? '-',
    p.node ?? '-',
  ]);
  return withMore(table([['NAME', 'CPU', 'CPU/LIMIT', 'MEMORY', 'MEMORY/LIMIT', 'NODE'], ...rows]), pods.length, 'pods');
}

/** `kubectl top nodes` columns: percentages of what the node can give to pods (allocatable). */
function nodeTable(nodes: NodeTop[]): string {
  const rows = nodes.slice(0, MAX_ROWS).map((n) => [
    n.name,
    formatCpu(n.cpuCores),
    formatShare(n.cpuCores, n.allocatableCpu) ?? '-',
    formatMemory(n.memoryBytes),
    formatShare(n.memoryBytes, n.allocatableMemory) ?? '-',
  ]);
  return withMore(table([['NAME', 'CPU', 'CPU%', 'MEMORY', 'MEMORY%'], ...rows]), nodes.length, 'nodes');
}

function withMore(text: string, total: number, noun: string): string {
  return total > MAX_ROWS ? `${text}\n… and ${total - MAX_ROWS} more ${noun}` : text;
}

/** Left-aligned columns separated by three spaces, as kubectl prints them. */
function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((r) => (r[column] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, column) => (column === r.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('   ')).join('\n');
}
