/**
 * The server settings the runbook tunes (memory, connections, checkpoints, autovacuum), as the
 * server reports them: value, unit, where the value came from, and whether a change waits for a
 * restart.
 *
 *   const settings = await readSettings(pool, ['shared_buffers', 'work_mem']);
 *   settings.get('shared_buffers') // { value: '128MB', bytes: 134217728, source: 'config', … }
 */
import type pg from 'pg';

/** Where a value came from, in the operator's words (pg_settings.source, summarised). */
export type SettingSource =
  | 'default'
  | 'config'
  | 'ALTER SYSTEM'
  | 'command line'
  | 'override'
  | 'role or database'
  | 'session';

export interface ServerSetting {
  name: string;
  /** As PostgreSQL shows it (`SHOW`): `128MB`, `0.9`, `on`. */
  value: string;
  /** pg_settings' raw value and unit: `16384` × `8kB`. */
  rawValue: string;
  unit: string | null;
  /** Memory settings in bytes; null for the others. */
  bytes: number | null;
  /** Numeric settings as a number; null for the others. */
  number: number | null;
  source: SettingSource;
  /** A changed value waits for a restart. */
  pendingRestart: boolean;
  /** The value the restart will apply, when the bot may read the configuration files. */
  pendingValue: string | null;
  /** The value PostgreSQL uses when nothing sets it. */
  defaultValue: string;
}

const UNIT_BYTES: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

interface Row {
  name: string;
  value: string;
  setting: string;
  unit: string | null;
  vartype: string;
  source: string;
  sourcefile: string | null;
  pending_restart: boolean;
  boot_val: string | null;
}

export async function readSettings(pool: pg.Pool, names: readonly string[]): Promise<Map<string, ServerSetting>> {
  const { rows } = await pool.query<Row>(
    `SELECT name, current_setting(name) AS value, setting, unit, vartype, source, sourcefile, pending_restart, boot_val
       FROM pg_settings
      WHERE name = ANY($1::text[])`,
    [names],
  );
  const pending = rows.some((r) => r.pending_restart) ? await readPendingValues(pool, names) : new Map<string, string>();
  const settings = new Map<string, ServerSetting>();
  for (const r of rows) {
    const number = r.vartype === 'integer' || r.vartype === 'real' ? Number(r.setting) : null;
    settings.set(r.name, {
      name: r.name,
      value: r.value,
      rawValue: r.setting,
      unit: r.unit,
      bytes: number !== null ? toBytes(number, r.unit) : null,
      number,
      source: describeSource(r.source, r.sourcefile),
      pendingRestart: r.pending_restart,
      pendingValue: pending.get(r.name) ?? null,
      defaultValue: r.boot_val ?? '',
    });
  }
  return settings;
}

/** `16384` with unit `8kB` → 134217728; null when the unit is not a memory unit. */
function toBytes(value: number, unit: string | null): number | null {
  const match = /^(\d*)(B|kB|MB|GB|TB)$/.exec(unit ?? '');
  if (!match) return null;
  const factor = UNIT_BYTES[match[2] as string] ?? 1;
  return value * Number(match[1] || '1') * factor;
}

function describeSource(source: string, sourcefile: string | null): SettingSource {
  switch (source) {
    case 'default':
      return 'default';
    case 'configuration file':
      return sourcefile?.endsWith('postgresql.auto.conf') ? 'ALTER SYSTEM' : 'config';
    case 'command line':
    case 'environment variable':
      return 'command line';
    case 'override':
      return 'override';
    case 'database':
    case 'user':
    case 'database user':
      return 'role or database';
    default:
      return 'session';
  }
}

/**
 * What the configuration files say now, for settings whose new value waits for a restart.
 * pg_file_settings is readable by superusers only: without that right the answer simply lacks the value.
 */
async function readPendingValues(pool: pg.Pool, names: readonly string[]): Promise<Map<string, string>> {
  try {
    // The last line for a name wins, as when the server reads its files. Its `error` is set
    // precisely because it waits for the restart ("setting could not be applied"), so no filter.
    const { rows } = await pool.query<{ name: string; setting: string }>(
      `SELECT DISTINCT ON (name) name, setting
         FROM pg_file_settings
        WHERE name = ANY($1::text[])
        ORDER BY name, seqno DESC`,
      [names],
    );
    return new Map(rows.map((r) => [r.name, r.setting]));
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return new Map();
    throw error;
  }
}
