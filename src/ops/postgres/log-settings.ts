/**
 * The server settings that decide what its log says about logins and where it goes: whether
 * `kubectl logs` can see it at all (logging_collector off, stderr), what each line starts with
 * (log_line_prefix) and whether client addresses are logged (log_connections).
 *
 *   await readLogSettings(pool) // { logLinePrefix: '%m [%p] ', logConnections: false, loggingCollector: false, logDestination: 'stderr' }
 */
import type pg from 'pg';

export interface LogSettings {
  logLinePrefix: string;
  logConnections: boolean;
  loggingCollector: boolean;
  logDestination: string;
}

/** PostgreSQL's default since version 10, which the official image keeps. */
export const DEFAULT_LOG_LINE_PREFIX = '%m [%p] ';

export async function readLogSettings(pool: pg.Pool): Promise<LogSettings> {
  const { rows } = await pool.query<{ prefix: string | null; connections: string | null; collector: string | null; destination: string | null }>(
    `SELECT current_setting('log_line_prefix', true) AS prefix, current_setting('log_connections', true) AS connections,
            current_setting('logging_collector', true) AS collector, current_setting('log_destination', true) AS destination`,
  );
  const row = rows[0];
  return {
    logLinePrefix: row?.prefix ?? DEFAULT_LOG_LINE_PREFIX,
    logConnections: row?.connections === 'on',
    loggingCollector: row?.collector === 'on',
    logDestination: row?.destination ?? 'stderr',
  };
}
