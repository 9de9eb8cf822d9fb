import { describe, expect, it } from 'vitest';
import {
  histogramSeries,
  parsePrometheusText,
  PrometheusParseError,
  summarySeries,
  type MetricFamily,
} from '../../../src/ops/exporter/prometheus-text.js';
import { summarizeExporterMetrics } from '../../../src/ops/exporter/exporter-metrics.js';
import { createMetrics } from '../../../src/metrics.js';

function only(families: MetricFamily[], name: string): MetricFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

describe('parsePrometheusText', () => {
  it('reads HELP, TYPE, labels and values of a simple exposition', () => {
    const families = parsePrometheusText(
      [
        '# HELP pg_up Whether the last scrape of metrics from PostgreSQL was able to connect to the server (1 for yes, 0 for no).',
        '# TYPE pg_up gauge',
        'pg_up 1',
        '# HELP pg_stat_database_numbackends Number of backends currently connected to this database.',
        '# TYPE pg_stat_database_numbackends gauge',
        'pg_stat_database_numbackends{datid="16384",datname="recipe_database",server="db:5432"} 3',
        'pg_stat_database_numbackends{datid="5",datname="postgres",server="db:5432"} 0',
        '',
      ].join('\n'),
    );
    expect(families.map((f) => f.name)).toEqual(['pg_up', 'pg_stat_database_numbackends']);
    const up = only(families, 'pg_up');
    expect(up).toMatchObject({ type: 'gauge', help: expect.stringContaining('Whether the last scrape') });
    expect(up.samples).toEqual([{ name: 'pg_up', labels: {}, value: 1, timestampMs: null }]);
    expect(only(families, 'pg_stat_database_numbackends').samples[0]).toEqual({
      name: 'pg_stat_database_numbackends',
      labels: { datid: '16384', datname: 'recipe_database', server: 'db:5432' },
      value: 3,
      timestampMs: null,
    });
  });

  it('unescapes label values and HELP text, and keeps separators inside quotes', () => {
    const families = parsePrometheusText(
      [
        '# HELP tricky A help with a \\\\ backslash,\\na newline and a \\"kept\\" escape',
        'tricky{path="C:\\\\DIR\\\\file",quote="say \\"hi\\"",nl="a\\nb",braces="}{,=#",empty=""} 1',
        'tricky{ spaced = "yes" , trailing="comma", } 2',
        'tricky{} 3',
      ].join('\n'),
    );
    const tricky = only(families, 'tricky');
    expect(tricky.help).toBe('A help with a \\ backslash,\na newline and a \\"kept\\" escape');
    expect(tricky.type).toBe('untyped');
    expect(tricky.samples.map((s) => s.labels)).toEqual([
      { path: 'C:\\DIR\\file', quote: 'say "hi"', nl: 'a\nb', braces: '}{,=#', empty: '' },
      { spaced: 'yes', trailing: 'comma' },
      {},
    ]);
  });

  it('reads NaN, infinities, exponents and timestamps', () => {
    const samples = parsePrometheusText(
      [
        'a NaN',
        'b +Inf',
        'c -Inf',
        'd 1.7560473e+07',
        'e -0.5 1395066363000',
        'f\t2\t-1000',
        'g 1e-3   ',
        'h .5',
        'i Infinity',
      ].join('\n'),
    ).flatMap((f) => f.samples);
    const byName = Object.fromEntries(samples.map((s) => [s.name, s]));
    expect(byName.a?.value).toBeNaN();
    expect(byName.b?.value).toBe(Infinity);
    expect(byName.c?.value).toBe(-Infinity);
    expect(byName.d?.value).toBe(17_560_473);
    expect(byName.e).toMatchObject({ value: -0.5, timestampMs: 1_395_066_363_000 });
    expect(byName.f).toMatchObject({ value: 2, timestampMs: -1000 });
    expect(byName.g?.value).toBe(0.001);
    expect(byName.h?.value).toBe(0.5);
    expect(byName.i?.value).toBe(Infinity);
  });

  it('groups a labelled histogram into series with sorted buckets, sum and count', () => {
    const families = parsePrometheusText(
      [
        '# HELP http_request_duration_seconds A histogram of the request duration.',
        '# TYPE http_request_duration_seconds histogram',
        'http_request_duration_seconds_bucket{handler="/a",le="0.05"} 24054',
        'http_request_duration_seconds_bucket{handler="/a",le="0"} 0',
        'http_request_duration_seconds_bucket{handler="/a",le="+Inf"} 144320',
        'http_request_duration_seconds_sum{handler="/a"} 53423',
        'http_request_duration_seconds_count{handler="/a"} 144320',
        'http_request_duration_seconds_bucket{handler="/b",le="0.05"} 1',
        'http_request_duration_seconds_bucket{handler="/b",le="+Inf"} 2',
        'http_request_duration_seconds_sum{handler="/b"} 0.2',
        'http_request_duration_seconds_count{handler="/b"} 2',
        '# A plain comment between families',
        'after 1',
      ].join('\n'),
    );
    const histogram = only(families, 'http_request_duration_seconds');
    expect(histogram.type).toBe('histogram');
    expect(histogram.samples).toHaveLength(9);
    expect(families.map((f) => f.name)).toEqual(['http_request_duration_seconds', 'after']);
    expect(histogramSeries(histogram)).toEqual([
      {
        labels: { handler: '/a' },
        buckets: [
          { le: 0, count: 0 },
          { le: 0.05, count: 24054 },
          { le: Infinity, count: 144320 },
        ],
        sum: 53423,
        count: 144320,
      },
      { labels: { handler: '/b' }, buckets: [{ le: 0.05, count: 1 }, { le: Infinity, count: 2 }], sum: 0.2, count: 2 },
    ]);
  });

  it('groups a summary into quantiles, sum and count', () => {
    const families = parsePrometheusText(
      [
        '# TYPE go_gc_duration_seconds summary',
        'go_gc_duration_seconds{quantile="0"} 0',
        'go_gc_duration_seconds{quantile="0.5"} 4.1e-05',
        'go_gc_duration_seconds{quantile="1"} NaN',
        'go_gc_duration_seconds_sum 0.001',
        'go_gc_duration_seconds_count 12',
      ].join('\n'),
    );
    const [series] = summarySeries(only(families, 'go_gc_duration_seconds'));
    expect(series?.labels).toEqual({});
    expect(series?.quantiles.map((q) => q.quantile)).toEqual([0, 0.5, 1]);
    expect(series?.quantiles[2]?.value).toBeNaN();
    expect(series).toMatchObject({ sum: 0.001, count: 12 });
  });

  it('keeps a family of its own for a counter named like a histogram part', () => {
    const families = parsePrometheusText(['# TYPE jobs_count counter', 'jobs_count 7', '# TYPE jobs gauge', 'jobs 2'].join('\n'));
    expect(only(families, 'jobs_count').samples[0]?.value).toBe(7);
    expect(only(families, 'jobs').samples).toHaveLength(1);
  });

  it('takes CRLF line ends, leading blanks and a last line without a newline', () => {
    const families = parsePrometheusText('# TYPE a counter\r\n  a 1\r\n\r\nb 2');
    expect(only(families, 'a')).toMatchObject({ type: 'counter', samples: [{ value: 1 }] });
    expect(only(families, 'b').samples[0]?.value).toBe(2);
  });

  it('reads the quoted UTF-8 names of newer exporters', () => {
    const families = parsePrometheusText(
      ['# HELP "http.server.duration" Duration.', '# TYPE "http.server.duration" gauge', '{"http.server.duration","route.name"="/x",code="200"} 0.25'].join('\n'),
    );
    const family = only(families, 'http.server.duration');
    expect(family.type).toBe('gauge');
    expect(family.samples[0]).toMatchObject({ name: 'http.server.duration', labels: { 'route.name': '/x', code: '200' }, value: 0.25 });
  });

  it('rejects malformed input with the line number', () => {
    const cases: [string, RegExp][] = [
      ['a 1\nb{x="1} 2', /line 2: unterminated quoted string/],
      ['a{x="\\t"} 1', /invalid escape sequence/],
      ['a{x=1} 1', /label x has an unquoted value/],
      ['a{x="1" y="2"} 1', /expected "," or "}" after label x/],
      ['a{x="1",x="2"} 1', /label x given twice/],
      ['a one', /invalid value "one" for a/],
      ['a 1 12.5', /invalid timestamp "12.5"/],
      ['a 1 2 3', /unexpected text after the sample of a/],
      ['a', /sample a has no value/],
      ['1a 2', /invalid metric name "1a"/],
      ['a{0x="y"} 1', /invalid label name/],
      ['# TYPE a gauge\n# TYPE a counter', /line 2: second TYPE line for a/],
      ['# HELP a x\n# HELP a y', /second HELP line for a/],
      ['a 1\n# TYPE a gauge', /TYPE line for a after its samples/],
      ['# TYPE a histogramm', /unknown metric type "histogramm"/],
      ['# TYPE h histogram\nh_bucket 1', /histogram bucket h_bucket has no "le" label/],
      ['# TYPE h histogram\nh_bucket{le="big"} 1', /label le="big" is not a number/],
      ['# TYPE s summary\ns 1', /summary s has no "quantile" label/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parsePrometheusText(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(PrometheusParseError);
      expect((error as Error).message, text).toMatch(message);
    }
  });

  it("reads what a real client library writes: the bot's own /metrics (prom-client)", async () => {
    const metrics = createMetrics();
    metrics.ackLatency.observe({ kind: 'command' }, 0.02);
    metrics.ackLatency.observe({ kind: 'command' }, 0.3);
    metrics.ackLatency.observe({ kind: 'action' }, 0.004);
    metrics.commands.inc({ command: 'status', outcome: 'ok' });
    const families = parsePrometheusText(await metrics.registry.metrics());
    expect(only(families, 'recipedb_ops_commands_total').samples[0]).toMatchObject({ labels: { command: 'status', outcome: 'ok' }, value: 1 });
    const latency = histogramSeries(only(families, 'recipedb_ops_ack_latency_seconds'));
    const command = latency.find((s) => s.labels.kind === 'command');
    expect(command).toMatchObject({ count: 2, sum: 0.32 });
    expect(command?.buckets.find((b) => b.le === 0.025)?.count).toBe(1);
    expect(command?.buckets.at(-1)).toEqual({ le: Infinity, count: 2 });
    expect(latency.find((s) => s.labels.kind === 'action')?.count).toBe(1);
    expect(families.length).toBeGreaterThan(10);
  });

  it('ignores comments that are not HELP or TYPE', () => {
    expect(parsePrometheusText('# just a comment\n#HELPER text\n# EOF\n')).toEqual([]);
  });
});

describe('summarizeExporterMetrics', () => {
  const text = [
    'pg_up 1',
    'pg_stat_database_numbackends{datid="1",datname="recipe_database",server="s"} 4',
    'pg_stat_database_numbackends{datid="2",datname="postgres",server="s"} 9',
    'pg_stat_database_xact_commit{datid="1",datname="recipe_database",server="s"} 1.2345e+06',
    'pg_stat_activity_max_tx_duration{datname="recipe_database",server="s",state="active"} 1.5',
    'pg_stat_activity_max_tx_duration{datname="recipe_database",server="s",state="idle in transaction"} 720.25',
    'pg_stat_activity_max_tx_duration{datname="postgres",server="s",state="active"} 9999',
    'pg_locks_count{datname="recipe_database",mode="accesssharelock",server="s"} 3',
    'pg_locks_count{datname="recipe_database",mode="rowexclusivelock",server="s"} 1',
    'pg_locks_count{datname="recipe_database",mode="exclusivelock",server="s"} 0',
    'pg_locks_count{datname="postgres",mode="accesssharelock",server="s"} 50',
    'recipe_stats_total_recipes{server="s"} 300',
    'user_activity_active_users{period="7d",server="s"} 12',
    'table_sizes_size_bytes{relname="recipes"} 8192',
    'pg_exporter_last_scrape_error 1',
  ].join('\n');

  it('picks the operated database and the business metrics', () => {
    const m = summarizeExporterMetrics(parsePrometheusText(text), 'recipe_database', ['recipe_stats_', 'user_activity_']);
    expect(m).toMatchObject({
      up: true,
      backends: 4,
      commits: 1_234_500,
      rollbacks: null,
      longestTransactionSeconds: 720.25,
      locks: { total: 4, byMode: [{ mode: 'accesssharelock', count: 3 }, { mode: 'rowexclusivelock', count: 1 }] },
      scrapeError: true,
      customQueriesError: false,
      exporterVersion: null,
    });
    expect(m.business).toEqual([
      { name: 'recipe_stats_total_recipes', labels: { server: 's' }, value: 300 },
      { name: 'user_activity_active_users', labels: { period: '7d', server: 's' }, value: 12 },
    ]);
  });

  it('says null, not zero, for a database the exporter does not report', () => {
    const m = summarizeExporterMetrics(parsePrometheusText(text), 'elsewhere', []);
    expect(m).toMatchObject({ backends: null, commits: null, longestTransactionSeconds: null, locks: null, business: [] });
    expect(summarizeExporterMetrics(parsePrometheusText('pg_up 0'), 'x', []).up).toBe(false);
    expect(summarizeExporterMetrics([], 'x', []).up).toBeNull();
  });
});
