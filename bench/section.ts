/** What every benchmark section receives and returns; the runner prints and stores the results. */
import type { Harness } from './harness.js';

export interface Ratio {
  value: number;
  /** Printed after "N×": e.g. "bot/baseline" (1.0 = no overhead) or "faster (psql/bot)". */
  reads: string;
}

export interface Figure {
  name: string;
  unit: 'ms' | 'MB' | 'MB/s' | 'rows' | '%';
  bot: number;
  /** Null for extra information without a baseline. */
  baseline: number | null;
  ratio: Ratio | null;
  target?: { text: string; met: boolean };
}

export interface SectionResult {
  title: string;
  /** What the bot is compared with. */
  baseline: string;
  figures: Figure[];
  notes: string[];
  /** Raw summaries for results.json. */
  details: Record<string, unknown>;
}

export interface BenchContext {
  harness: Harness;
  say(line: string): void;
}

export type Section = (ctx: BenchContext) => Promise<SectionResult>;
