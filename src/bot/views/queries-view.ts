import type { StatementStats, StatementsMissing } from '../../ops/postgres/statements.js';
import type { QueriesResult } from '../../handlers/queries.js';
import { formatDuration } from '../../duration.js';
import { LIMITS, context, escapeMrkdwn, fitMessage, header, measuredAt, section, type Block, type Message, sqlSnippet } from '../blocks.js';
import { formatCount, formatTime } from '../../format.js';

// Shared by all query texts so that 50 statements, with their figures, still fit one message.
const QUERY_TEXT_BUDGET = 5_000;

const TITLE: Record<QueriesResult['by'], string> = {
  total: 'Top queries by total time',
  mean: 'Slowest queries by mean time',
  calls: 'Most frequent queries',
};

export function queriesView(result: QueriesResult): Message {
  const blocks: Block[] = [header(TITLE[result.by])];
  if (!result.available) {
    blocks.push(section(howToEnable(result.missing)), measuredAt(result.measuredAt));
    return fitMessage({ text: 'pg_stat_statements is not enabled: no query statistics yet.', blocks });
  }
  const { statements } = result;
  const since = result.statsSince ? `Statistics since ${formatTime(result.statsSince)}` : 'Statistics since the last reset';
  if (statements.length === 0) {
    blocks.push(section('No statements recorded for this database yet.'), context([since]), measuredAt(result.measuredAt));
    return fitMessage({ text: 'No statements recorded yet.', blocks });
  }
  const queryChars = Math.max(80, Math.min(600, Math.floor(QUERY_TEXT_BUDGET / statements.length)));
  const entries = statements.map((s, i) => statementEntry(s, i + 1, queryChars));
  blocks.push(...packSections(entries));
  blocks.push(context([`Top ${statements.length} of this database's statements · ${since}`]), measuredAt(result.measuredAt));
  const top = statements[0] as StatementStats;
  return fitMessage({
    text: `Top query by ${result.by === 'calls' ? 'calls' : `${result.by} time`}: ${formatMs(top.totalMs)} total, ${formatMs(top.meanMs)} mean over ${formatCount(top.calls)} calls`,
    blocks,
  });
}

function statementEntry(s: StatementStats, rank: number, queryChars: number): string {
  const facts = [
    `total *${formatMs(s.totalMs)}*`,
    `mean ${formatMs(s.meanMs)} ± ${formatMs(s.stddevMs)}`,
    `${formatCount(s.calls)} ${s.calls === 1 ? 'call' : 'calls'}`,
    `${formatCount(s.rows)} ${s.rows === 1 ? 'row' : 'rows'}`,
  ];
  if (s.user) facts.push(escapeMrkdwn(s.user));
  return `*${rank}.* ${facts.join(' · ')}\n${sqlSnippet(s.query, queryChars)}`;
}

/** Several statements per section keep 50 of them under Slack's 50 blocks. */
function packSections(entries: string[]): Block[] {
  const sections: Block[] = [];
  let current = '';
  for (const entry of entries) {
    const next = current === '' ? entry : `${current}\n${entry}`;
    if (current !== '' && next.length > LIMITS.sectionText) {
      sections.push(section(current));
      current = entry;
    } else {
      current = next;
    }
  }
  if (current !== '') sections.push(section(current));
  return sections;
}

function howToEnable(missing: StatementsMissing): string {
  const problem =
    missing === 'not-preloaded'
      ? '*pg_stat_statements is installed in this database but the server has not loaded it*, so there are no query statistics.'
      : '*pg_stat_statements is not installed in this database*, so there are no query statistics.';
  return [
    problem,
    'To enable it:',
    "1. Add it to the server's preloaded libraries, keeping any already listed: `shared_preload_libraries = 'pg_stat_statements'` in postgresql.conf",
    '2. Restart PostgreSQL (a reload is not enough)',
    '3. In this database: `CREATE EXTENSION pg_stat_statements;`',
  ].join('\n');
}

/** Mean times are often below a millisecond, where formatDuration would say "0ms". */
function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(ms < 1 ? 2 : 1)}ms`;
  return formatDuration(ms);
}

