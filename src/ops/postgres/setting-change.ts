/**
 * One server setting as pg_settings describes it (type, unit, range, allowed values, context), the
 * bot's right to change it, and the change itself: ALTER SYSTEM, which takes no bind parameters,
 * built on the server by format('%I', '%L') from a name that exists in pg_settings and a value the
 * caller validated, then pg_reload_conf().
 *
 *   const setting = await readSettingDefinition(pool, 'work_mem'); // { vartype: 'integer', unit: 'kB', min: 64, … }
 *   await alterSystemStatement(pool, { name: 'work_mem', value: '8MB' }) // `ALTER SYSTEM SET work_mem = '8MB'`
 */
import type pg from 'pg';

export interface SettingDefinition {
  name: string;
  /** As SHOW prints it: `4MB`. */
  shown: string;
  /** pg_settings.setting, in the base unit: `4096`. */
  setting: string;
  unit: string | null;
  vartype: 'bool' | 'integer' | 'real' | 'enum' | 'string';
  min: number | null;
  max: number | null;
  enumValues: string[];
  /** internal, postmaster, sighup, superuser-backend, backend, superuser, user. */
  context: string;
  source: string;
  /** postgresql.auto.conf when ALTER SYSTEM set the running value. */
  sourceFile: string | null;
  pendingRestart: boolean;
  /** The built-in default (pg_settings.boot_val). */
  defaultValue: string | null;
  description: string;
}

interface Row {
  name: string;
  shown: string;
  setting: string;
  unit: string | null;
  vartype: SettingDefinition['vartype'];
  min_val: string | null;
  max_val: string | null;
  enumvals: string[] | null;
  context: string;
  source: string;
  sourcefile: string | null;
  pending_restart: boolean;
  boot_val: string | null;
  short_desc: string;
}

/** The setting (names are case-insensitive, as in SET), or null when the server has none by that name. */
export async function readSettingDefinition(pool: pg.Pool, name: string): Promise<SettingDefinition | null> {
  const { rows } = await pool.query<Row>(
    `SELECT name, current_setting(name) AS shown, setting, unit, vartype, min_val, max_val, enumvals, context, source,
            sourcefile, pending_restart, boot_val, short_desc
       FROM pg_settings WHERE lower(name) = lower($1)`,
    [name],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    name: r.name,
    shown: r.shown,
    setting: r.setting,
    unit: r.unit,
    vartype: r.vartype,
    min: r.min_val === null ? null : Number(r.min_val),
    max: r.max_val === null ? null : Number(r.max_val),
    enumValues: r.enumvals ?? [],
    context: r.context,
    source: r.source,
    sourceFile: r.sourcefile,
    pendingRestart: r.pending_restart,
    defaultValue: r.boot_val,
    description: r.short_desc,
  };
}

/** Whether the bot's role may ALTER SYSTEM this setting (superuser, or GRANT ALTER SYSTEM ON PARAMETER) and reload. */
export async function settingPrivileges(pool: pg.Pool, name: string): Promise<{ alterSystem: boolean; reload: boolean; role: string }> {
  const { rows } = await pool.query<{ alter_system: boolean; reload: boolean; role: string }>(
    `SELECT has_parameter_privilege(current_user, $1, 'ALTER SYSTEM') AS alter_system,
            has_function_privilege(current_user, 'pg_reload_conf()', 'EXECUTE') AS reload,
            current_user AS role`,
    [name],
  );
  const row = rows[0];
  return { alterSystem: row?.alter_system ?? false, reload: row?.reload ?? false, role: row?.role ?? '' };
}

/**
 * Whether postgresql.auto.conf sets it (ALTER SYSTEM did), also for a value that waits for a
 * restart; null when the bot may not read pg_file_settings (superusers only).
 */
export async function setByAlterSystem(pool: pg.Pool, name: string): Promise<boolean | null> {
  try {
    const { rows } = await pool.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_file_settings WHERE name = $1 AND sourcefile LIKE '%postgresql.auto.conf') AS found`,
      [name],
    );
    return rows[0]?.found ?? false;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return null;
    throw error;
  }
}

/** The statement, quoted by the server: the name as an identifier (%I), the value as a literal (%L). */
export async function alterSystemStatement(pool: pg.Pool, change: { name: string; value: string | null }): Promise<string> {
  const { rows } = await pool.query<{ sql: string }>(
    change.value === null ? `SELECT format('ALTER SYSTEM RESET %I', $1::text) AS sql` : `SELECT format('ALTER SYSTEM SET %I = %L', $1::text, $2::text) AS sql`,
    change.value === null ? [change.name] : [change.name, change.value],
  );
  const sql = rows[0]?.sql;
  if (!sql) throw new Error('the server did not build the ALTER SYSTEM statement');
  return sql;
}
