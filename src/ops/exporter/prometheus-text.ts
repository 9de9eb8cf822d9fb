/**
 * A parser for the Prometheus text exposition format (version 0.0.4, what postgres_exporter and
 * every Prometheus client library serve), including the quoted UTF-8 names of newer exporters.
 *
 *   const families = parsePrometheusText('# TYPE pg_up gauge\npg_up 1\n');
 *   // [{ name: 'pg_up', type: 'gauge', help: null, samples: [{ name: 'pg_up', labels: {}, value: 1, timestampMs: null }] }]
 *
 * Written here rather than taken from npm: the one parser there (parse-prometheus-text-format,
 * unchanged since 2019) merges labelled histograms into one series, drops a `0` bucket and the last
 * sample of input without a final newline, and returns values as strings.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The name as written: a histogram's samples are `x_bucket`, `x_sum` and `x_count`. */
  name: string;
  labels: Record<string, string>;
  /** May be NaN, Infinity or -Infinity. */
  value: number;
  timestampMs: number | null;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

export class PrometheusParseError extends Error {
  override name = 'PrometheusParseError';
  constructor(
    readonly lineNumber: number,
    reason: string,
  ) {
    super(`line ${lineNumber}: ${reason}`);
  }
}

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export function parsePrometheusText(text: string): MetricFamily[] {
  const state: ParseState = { families: new Map(), typed: new Set() };
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') return;
    try {
      if (line.startsWith('#')) readComment(line, state);
      else addSample(readSample(line), state.families);
    } catch (error) {
      if (error instanceof LineError) throw new PrometheusParseError(index + 1, error.message);
      throw error;
    }
  });
  return [...state.families.values()];
}

/** The series of a histogram: buckets (ascending `le`), sum and count per label set. */
export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: { le: number; count: number }[];
  sum: number | null;
  count: number | null;
}

export function histogramSeries(family: MetricFamily): HistogramSeries[] {
  const series = new Map<string, HistogramSeries>();
  for (const sample of family.samples) {
    const { le, ...labels } = sample.labels;
    const entry = seriesFor(series, labels, () => ({ labels, buckets: [], sum: null, count: null }));
    if (sample.name === `${family.name}_bucket` && le !== undefined) entry.buckets.push({ le: parseValue(le), count: sample.value });
    else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else if (sample.name === `${family.name}_count`) entry.count = sample.value;
  }
  for (const entry of series.values()) entry.buckets.sort((a, b) => a.le - b.le);
  return [...series.values()];
}

/** The series of a summary: quantiles (ascending), sum and count per label set. */
export interface SummarySeries {
  labels: Record<string, string>;
  quantiles: { quantile: number; value: number }[];
  sum: number | null;
  count: number | null;
}

export function summarySeries(family: MetricFamily): SummarySeries[] {
  const series = new Map<string, SummarySeries>();
  for (const sample of family.samples) {
    const { quantile, ...labels } = sample.labels;
    const entry = seriesFor(series, labels, () => ({ labels, quantiles: [], sum: null, count: null }));
    if (sample.name === family.name && quantile !== undefined) entry.quantiles.push({ quantile: parseValue(quantile), value: sample.value });
    else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else if (sample.name === `${family.name}_count`) entry.count = sample.value;
  }
  for (const entry of series.values()) entry.quantiles.sort((a, b) => a.quantile - b.quantile);
  return [...series.values()];
}

function seriesFor<T>(series: Map<string, T>, labels: Record<string, string>, create: () => T): T {
  const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let entry = series.get(key);
  if (entry === undefined) {
    entry = create();
    series.set(key, entry);
  }
  return entry;
}

/** A problem within one line; parsePrometheusText adds the line number. */
class LineError extends Error {}

interface ParseState {
  families: Map<string, MetricFamily>;
  /** Families given a TYPE line, so that a second one is told from "untyped by default". */
  typed: Set<string>;
}

function family(families: Map<string, MetricFamily>, name: string): MetricFamily {
  let found = families.get(name);
  if (found === undefined) {
    found = { name, type: 'untyped', help: null, samples: [] };
    families.set(name, found);
  }
  return found;
}

function readComment(line: string, state: ParseState): void {
  const cursor = new Cursor(line.slice(1));
  cursor.skipBlanks();
  const keyword = cursor.readWhile((c) => c !== ' ' && c !== '\t');
  if (keyword !== 'HELP' && keyword !== 'TYPE') return; // any other comment
  cursor.skipBlanks();
  if (cursor.done()) throw new LineError(`${keyword} line without a metric name`);
  const name = cursor.peek() === '"' ? readQuoted(cursor) : checkedName(cursor.readWhile((c) => c !== ' ' && c !== '\t'));
  cursor.skipBlanks();
  const rest = cursor.rest();
  const target = family(state.families, name);
  if (keyword === 'HELP') {
    if (target.help !== null) throw new LineError(`second HELP line for ${name}`);
    target.help = unescapeHelp(rest);
    return;
  }
  const type = TYPES.find((t) => t === rest.trim());
  if (type === undefined) throw new LineError(`unknown metric type "${rest.trim()}" for ${name}`);
  if (state.typed.has(name)) throw new LineError(`second TYPE line for ${name}`);
  if (target.samples.length > 0) throw new LineError(`TYPE line for ${name} after its samples`);
  target.type = type;
  state.typed.add(name);
}

function checkedName(name: string): string {
  if (!METRIC_NAME.test(name)) throw new LineError(`invalid metric name "${name}"`);
  return name;
}

function addSample(sample: Sample, families: Map<string, MetricFamily>): void {
  const owner = ownerOf(sample.name, families);
  if (owner.type === 'histogram' && sample.name === `${owner.name}_bucket`) {
    if (sample.labels.le === undefined) throw new LineError(`histogram bucket ${sample.name} has no "le" label`);
    parseLabelNumber(sample.labels.le, 'le');
  }
  if (owner.type === 'summary' && sample.name === owner.name) {
    if (sample.labels.quantile === undefined) throw new LineError(`summary ${sample.name} has no "quantile" label`);
    parseLabelNumber(sample.labels.quantile, 'quantile');
  }
  owner.samples.push(sample);
}

/** `x_bucket`, `x_sum` and `x_count` belong to the histogram or summary `x` declared before them. */
function ownerOf(name: string, families: Map<string, MetricFamily>): MetricFamily {
  const exact = families.get(name);
  if (exact !== undefined) return exact;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffix !== null) {
    const base = families.get(suffix[1] ?? '');
    if (base?.type === 'histogram' || (base?.type === 'summary' && suffix[2] !== 'bucket')) return base;
  }
  return family(families, name);
}

function parseLabelNumber(text: string, label: string): number {
  const value = parseValue(text);
  if (Number.isNaN(value) && !/^nan$/i.test(text)) throw new LineError(`label ${label}="${text}" is not a number`);
  return value;
}

/** A float as Go's strconv.ParseFloat reads it (which is what the format specifies); NaN when it is not one. */
function parseValue(text: string): number {
  if (DECIMAL.test(text)) return Number(text);
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return NaN;
}

function readSample(line: string): Sample {
  const cursor = new Cursor(line);
  let name = '';
  if (cursor.peek() !== '{') name = checkedName(cursor.readWhile((c) => c !== '{' && c !== ' ' && c !== '\t'));
  cursor.skipBlanks();
  const labels: Record<string, string> = {};
  if (cursor.peek() === '{') {
    cursor.next();
    name = readLabels(cursor, labels, name);
  }
  if (name === '') throw new LineError('sample without a metric name');
  cursor.skipBlanks();
  const valueText = cursor.readWhile((c) => c !== ' ' && c !== '\t');
  if (valueText === '') throw new LineError(`sample ${name} has no value`);
  const value = parseValue(valueText);
  if (Number.isNaN(value) && !/^nan$/i.test(valueText)) throw new LineError(`invalid value "${valueText}" for ${name}`);
  cursor.skipBlanks();
  const stampText = cursor.readWhile((c) => c !== ' ' && c !== '\t');
  if (stampText !== '' && !INTEGER.test(stampText)) throw new LineError(`invalid timestamp "${stampText}" for ${name}`);
  cursor.skipBlanks();
  if (!cursor.done()) throw new LineError(`unexpected text after the sample of ${name}: "${cursor.rest()}"`);
  return { name, labels, value, timestampMs: stampText === '' ? null : Number(stampText) };
}

/**
 * Reads `a="x",b="y"}` (the opening brace already consumed). A first quoted string with no `=`
 * is the metric name, the newer UTF-8 form: `{"my.metric",a="x"}`. Returns the metric name.
 */
function readLabels(cursor: Cursor, labels: Record<string, string>, metricName: string): string {
  let name = metricName;
  for (let first = true; ; first = false) {
    cursor.skipBlanks();
    if (cursor.peek() === '}') {
      cursor.next();
      break;
    }
    let key: string;
    if (cursor.peek() === '"') {
      key = readQuoted(cursor);
      cursor.skipBlanks();
      if (first && name === '' && (cursor.peek() === ',' || cursor.peek() === '}')) {
        name = key;
        if (cursor.peek() === ',') cursor.next();
        continue;
      }
    } else {
      key = cursor.readWhile((c) => /[a-zA-Z0-9_]/.test(c));
      if (!LABEL_NAME.test(key)) throw new LineError(`invalid label name near "${cursor.rest().slice(0, 20)}"`);
    }
    cursor.skipBlanks();
    if (cursor.next() !== '=') throw new LineError(`expected "=" after label ${key}`);
    cursor.skipBlanks();
    if (cursor.peek() !== '"') throw new LineError(`label ${key} has an unquoted value`);
    if (key in labels) throw new LineError(`label ${key} given twice`);
    labels[key] = readQuoted(cursor);
    cursor.skipBlanks();
    const separator = cursor.next();
    if (separator === '}') break;
    if (separator !== ',') throw new LineError(`expected "," or "}" after label ${key}`);
  }
  if (!METRIC_NAME.test(name) && !/[^\x20-\x7e]|[^a-zA-Z0-9_:]/.test(name)) throw new LineError(`invalid metric name "${name}"`);
  return name;
}

/** A double-quoted string with the format's escapes: `\\`, `\"` and `\n`. */
function readQuoted(cursor: Cursor): string {
  cursor.next(); // opening quote
  let value = '';
  for (;;) {
    const c = cursor.next();
    if (c === undefined) throw new LineError('unterminated quoted string');
    if (c === '"') return value;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const escaped = cursor.next();
    if (escaped === '\\') value += '\\';
    else if (escaped === '"') value += '"';
    else if (escaped === 'n') value += '\n';
    else throw new LineError(`invalid escape sequence "\\${escaped ?? ''}"`);
  }
}

/** HELP text escapes only `\\` and `\n`; any other backslash is kept as written. */
function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

class Cursor {
  private at = 0;
  constructor(private readonly text: string) {}
  peek(): string | undefined {
    return this.text[this.at];
  }
  next(): string | undefined {
    return this.text[this.at++];
  }
  done(): boolean {
    return this.at >= this.text.length;
  }
  rest(): string {
    return this.text.slice(this.at);
  }
  skipBlanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.at++;
  }
  readWhile(accept: (c: string) => boolean): string {
    const start = this.at;
    while (!this.done() && accept(this.text[this.at] ?? '')) this.at++;
    return this.text.slice(start, this.at);
  }
}
