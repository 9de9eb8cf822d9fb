/**
 * `status`: the runbook's daily health check in one answer. Every source is read in parallel with
 * its own deadline, so a dead database or a hanging API becomes one line and never delays the rest.
 */
import { readServerStatus, type ServerStatus } from '../ops/postgres/server-status.js';
import { withTimeout } from '../with-timeout.js';
import { defineHandler, noArgs, type HandlerContext } from './handler.js';
import { describeFailure } from './describe-failure.js';

export type SourceResult<T> = { ok: true; data: T; ms: number } | { ok: false; reason: string; ms: number };

export type Verdict = 'OK' | 'WARN' | 'DOWN';

export interface StatusResult {
  measuredAt: Date;
  verdict: Verdict;
  reasons: string[];
  postgres: SourceResult<ServerStatus>;
}

export async function readSource<T>(what: string, ms: number, read: () => Promise<T>): Promise<SourceResult<T>> {
  const started = performance.now();
  try {
    const data = await withTimeout(read(), ms, what);
    return { ok: true, data, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, reason: describeFailure(error), ms: performance.now() - started };
  }
}

export const statusHandler = defineHandler({
  name: 'status',
  usage: 'status',
  summary: 'database up/down, version, uptime, connections, cache hit ratio, size, longest transaction, locks',
  args: noArgs,
  async run(_args, ctx): Promise<StatusResult> {
    const budget = ctx.config.timeouts.connectMs + ctx.config.timeouts.statementMs;
    const postgres = await readSource('PostgreSQL', budget, () => readServerStatus(ctx.db));
    const { verdict, reasons } = judge(postgres, ctx);
    return { measuredAt: ctx.now(), verdict, reasons, postgres };
  },
});

function judge(postgres: SourceResult<ServerStatus>, ctx: HandlerContext): { verdict: Verdict; reasons: string[] } {
  if (!postgres.ok) return { verdict: 'DOWN', reasons: [`PostgreSQL: ${postgres.reason}`] };
  const { thresholds } = ctx.config;
  const s = postgres.data;
  const reasons: string[] = [];
  const cache = s.cacheHitRatio.tables;
  if (cache !== null && cache * 100 < thresholds.cacheHitMinPercent) {
    reasons.push(`cache hit ratio ${(cache * 100).toFixed(1)}% is below ${thresholds.cacheHitMinPercent}%`);
  }
  const usedPercent = (s.totalConnections / s.maxConnections) * 100;
  if (usedPercent > thresholds.connectionsMaxPercent) {
    reasons.push(`${s.totalConnections} of ${s.maxConnections} connections in use (over ${thresholds.connectionsMaxPercent}%)`);
  }
  if (s.longestTransaction && s.longestTransaction.seconds * 1000 > thresholds.longTransactionMs) {
    reasons.push(`a transaction (pid ${s.longestTransaction.pid}) has been open for over ${Math.floor(s.longestTransaction.seconds / 60)} min`);
  }
  if (s.blockedQueries > 0) reasons.push(`${s.blockedQueries} blocked ${s.blockedQueries === 1 ? 'query' : 'queries'}`);
  return { verdict: reasons.length ? 'WARN' : 'OK', reasons };
}
