/**
 * The runbook way of checking the server: one `psql` per question, run one after the other as an
 * operator pastes them. The SQL is that of src/ops/postgres/server-status.ts, split per check
 * (psql -c cannot bind `$1`, so the longest-transaction check only leaves out its own session).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

export interface PsqlCheck {
  name: string;
  sql: string;
}

export const PSQL_CHECKS: readonly PsqlCheck[] = [
  { name: 'version', sql: `SELECT split_part(version(), ' on ', 1)` },
  { name: 'uptime', sql: `SELECT pg_postmaster_start_time(), now() - pg_postmaster_start_time()` },
  {
    name: 'connections by state',
    sql: `SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC`,
  },
  { name: 'max_connections', sql: `SHOW max_connections` },
  {
    name: 'cache hit ratio',
    sql: `SELECT (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) FROM pg_statio_user_tables),
                 (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0) FROM pg_statio_user_indexes)`,
  },
  {
    name: 'commits, rollbacks, deadlocks',
    sql: `SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = current_database()`,
  },
  { name: 'database size', sql: `SELECT pg_size_pretty(pg_database_size(current_database()))` },
  {
    name: 'longest transaction',
    sql: `SELECT pid, now() - xact_start, state, query FROM pg_stat_activity
           WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid()
           ORDER BY xact_start LIMIT 1`,
  },
  {
    name: 'locks',
    sql: `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted), count(DISTINCT pid) FILTER (WHERE NOT granted) FROM pg_locks`,
  },
];

const PSQL_TIMEOUT_MS = 30_000;

/** Runs every check as its own psql process, sequentially; returns each check's output. */
export async function runPsqlChecks(binDir: string, url: string): Promise<string[]> {
  const outputs: string[] = [];
  for (const check of PSQL_CHECKS) outputs.push(await psql(binDir, url, check));
  return outputs;
}

function psql(binDir: string, url: string, check: PsqlCheck): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(binDir, 'psql'),
      ['-X', '-A', '-t', '-d', url, '-c', check.sql],
      { encoding: 'utf8', timeout: PSQL_TIMEOUT_MS, env: withoutLibpqVariables() },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`psql (${check.name}) failed: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** PGHOST, PGOPTIONS… from the caller's shell would change what psql connects to or how. */
export function withoutLibpqVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
}
