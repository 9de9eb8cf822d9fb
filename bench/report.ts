/** The printed table and bench/results.json. */
import os from 'node:os';
import type { Figure, SectionResult } from './section.js';

export interface SectionOutcome {
  name: string;
  ms: number;
  result?: SectionResult;
  error?: string;
}

export function formatTable(outcomes: readonly SectionOutcome[]): string {
  const header = ['section', 'figure', 'bot', 'baseline', 'ratio', 'target'];
  const rows: string[][] = [];
  for (const o of outcomes) {
    if (o.result === undefined) {
      rows.push([o.name, 'FAILED', '', '', '', '']);
      continue;
    }
    for (const f of o.result.figures) rows.push([o.name, f.name, value(f, f.bot), f.baseline === null ? '—' : value(f, f.baseline), ratio(f), target(f)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line), ''];
  for (const o of outcomes) {
    if (o.result === undefined) {
      out.push(`${o.name}: FAILED after ${(o.ms / 1000).toFixed(1)} s: ${o.error ?? 'unknown error'}`);
      continue;
    }
    out.push(`${o.name}: ${o.result.title} — ${(o.ms / 1000).toFixed(1)} s`);
    out.push(`  baseline: ${o.result.baseline}`);
    for (const note of o.result.notes) out.push(`  ${note}`);
  }
  return out.join('\n');
}

export function resultsDocument(outcomes: readonly SectionOutcome[], startedAt: Date): Record<string, unknown> {
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.cpus().length, loadAverage: os.loadavg() },
    sections: Object.fromEntries(outcomes.map((o) => [o.name, { ms: Math.round(o.ms), ...(o.result ?? {}), ...(o.error ? { error: o.error } : {}) }])),
  };
}

function value(f: Figure, v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (f.unit === 'rows') return `${Math.round(v).toLocaleString('en-US')} rows`;
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ${f.unit}`;
}

function ratio(f: Figure): string {
  return f.ratio === null || !Number.isFinite(f.ratio.value) ? '' : `${f.ratio.value.toFixed(2)}× ${f.ratio.reads}`;
}

function target(f: Figure): string {
  return f.target === undefined ? '' : `${f.target.met ? 'met' : 'NOT met'}: ${f.target.text}`;
}
