/**
 * `settings set <name> <value>` · `settings reset <name>`: the runbook's "Update configuration",
 * gated. The name must be a setting pg_settings knows; the value is checked against its type,
 * unit, range or allowed values (setting-value.ts) before any approval is asked; the request
 * shows current → new and whether the change needs a restart. Approved, it runs ALTER SYSTEM (the
 * statement built by the server with %I and %L) and pg_reload_conf(), then reads the setting back.
 */
import { z } from 'zod';
import type { Services } from '../context.js';
import { alterSystemStatement, readSettingDefinition, setByAlterSystem, settingPrivileges, type SettingDefinition } from '../ops/postgres/setting-change.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { runApprovedMaintenance } from './maintenance-procedure.js';
import { Refusal } from './refusal.js';
import { formatSettingValue, validateSettingValue } from './setting-value.js';

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** How long the reload may take to reach a new session before the report says what it sees. */
const RELOAD_WAIT_MS = 3_000;

/** Settings the bot will not change from chat, and why: they run commands, load code or move files. */
const NOT_FROM_CHAT: Record<string, string> = {
  archive_command: 'runs a shell command on the database server',
  archive_library: 'loads code into the database server',
  restore_command: 'runs a shell command on the database server',
  archive_cleanup_command: 'runs a shell command on the database server',
  recovery_end_command: 'runs a shell command on the database server',
  ssl_passphrase_command: 'runs a shell command on the database server',
  shared_preload_libraries: 'loads code into the database server',
  session_preload_libraries: 'loads code into the database server',
  local_preload_libraries: 'loads code into the database server',
  dynamic_library_path: 'decides where the server loads code from',
  data_directory: 'names a folder of the server',
  config_file: 'names a file of the server',
  hba_file: 'names a file of the server',
  ident_file: 'names a file of the server',
  external_pid_file: 'names a file of the server',
};

const settingPlan = z.object({
  kind: z.enum(['set', 'reset']),
  name: z.string().regex(SETTING_NAME),
  /** Null for a reset. */
  value: z.string().max(1_000).nullable(),
  /** What is expected afterwards, in base units, when it is a number. */
  base: z.number().nullable(),
  from: z.string(),
  context: z.string(),
});
export type SettingPlan = z.infer<typeof settingPlan>;

const nameOnly = (verb: 'set' | 'reset', count: number) =>
  z
    .object({
      positional: z.array(z.string()).length(count, verb === 'set' ? 'takes a setting name and its value' : 'takes one setting name'),
      flags: z.record(z.string(), z.unknown()).refine((f) => Object.keys(f).length === 0, 'takes no options'),
    })
    .transform((raw, ctx) => {
      const [name, value] = raw.positional as [string, string | undefined];
      if (!SETTING_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `"${name.slice(0, 40)}" is not a setting name: letters, digits and _ (as \`SHOW ALL\` lists them)` });
        return z.NEVER;
      }
      return { name, value: value ?? null };
    });

export const settingsSetHandler = defineHandler({
  name: 'settings set',
  usage: 'settings set <name> <value>',
  summary: 'change a server setting with ALTER SYSTEM and a reload (checked against pg_settings; says when a restart is needed)',
  gated: true,
  args: nameOnly('set', 2),
  async run({ name, value }, ctx): Promise<GatedResult<SettingPlan>> {
    const setting = await changeableSetting(ctx, name);
    const checked = validateSettingValue(setting, value ?? '');
    if (!checked.ok) throw new Refusal(`${capitalize(checked.reason)}; nothing was changed.`);
    const unchanged = checked.base !== null ? String(checked.base) === setting.setting : checked.value.toLowerCase() === setting.setting.toLowerCase();
    if (unchanged && !setting.pendingRestart) return { kind: 'nothing', message: `\`${setting.name}\` is already ${setting.shown}; nothing to change.` };
    const to = checked.base !== null ? formatSettingValue(checked.base, setting.unit) : checked.value;
    return planned('settings', `set ${setting.name} from ${setting.shown} to ${to} with ALTER SYSTEM`, targetLines(setting, `${setting.shown} → ${to}`), {
      kind: 'set',
      name: setting.name,
      value: checked.value,
      base: checked.base,
      from: setting.shown,
      context: setting.context,
    });
  },
});

export const settingsResetHandler = defineHandler({
  name: 'settings reset',
  usage: 'settings reset <name>',
  summary: 'remove an ALTER SYSTEM value: back to postgresql.conf or the default, with a reload',
  gated: true,
  args: nameOnly('reset', 1),
  async run({ name }, ctx): Promise<GatedResult<SettingPlan>> {
    const setting = await changeableSetting(ctx, name);
    const byAlterSystem = (await setByAlterSystem(ctx.db, setting.name)) ?? setting.sourceFile?.endsWith('postgresql.auto.conf') ?? false;
    if (!byAlterSystem) return { kind: 'nothing', message: `\`${setting.name}\` is not set with ALTER SYSTEM (it is ${setting.shown}, from ${setting.source}); nothing to reset.` };
    const fallback = `postgresql.conf's value, or the default ${setting.defaultValue === null ? '' : formatDefault(setting)}`.trim();
    return planned('settings', `reset ${setting.name} (now ${setting.shown}) with ALTER SYSTEM RESET`, targetLines(setting, `${setting.shown} → ${fallback}`), {
      kind: 'reset',
      name: setting.name,
      value: null,
      base: null,
      from: setting.shown,
      context: setting.context,
    });
  },
});

/** The setting, or a Refusal when there is none, it cannot be changed, or not by the bot. */
async function changeableSetting(ctx: HandlerContext, name: string): Promise<SettingDefinition> {
  const setting = await readSettingDefinition(ctx.db, name);
  if (!setting) throw new Refusal(`There is no setting \`${name}\` on this server (\`SHOW ALL\` lists them); nothing was changed.`);
  const why = NOT_FROM_CHAT[setting.name];
  if (why) {
    throw new Refusal(`\`${setting.name}\` ${why}: the bot does not change it from chat; change it in the database's own configuration, reviewed like code. Nothing was changed.`);
  }
  if (setting.context === 'internal') throw new Refusal(`\`${setting.name}\` is fixed when the server is built or initialised; it cannot be changed.`);
  const rights = await settingPrivileges(ctx.db, setting.name);
  if (!rights.alterSystem || !rights.reload) {
    const grants = [
      ...(rights.alterSystem ? [] : [`GRANT ALTER SYSTEM ON PARAMETER ${setting.name} TO ${rights.role};`]),
      ...(rights.reload ? [] : [`GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ${rights.role};`]),
    ];
    throw new Refusal(`The bot's database role may not change \`${setting.name}\`: a superuser runs \`${grants.join(' ')}\` (or the bot runs as a superuser); nothing was changed.`);
  }
  return setting;
}

const CONTEXT_EFFECT: Record<string, string> = {
  postmaster: 'needs a restart of the database: until then the server keeps the current value (pending_restart)',
  sighup: 'applies to every session at the reload',
  'superuser-backend': 'applies to new connections only',
  backend: 'applies to new connections only',
  superuser: 'becomes every session\'s default at the reload; sessions that SET it themselves keep theirs',
  user: 'becomes every session\'s default at the reload; sessions that SET it themselves keep theirs',
};

function targetLines(setting: SettingDefinition, change: string): string[] {
  return [
    `${setting.name}: ${change}`,
    `   ${setting.description}`,
    `when: ${CONTEXT_EFFECT[setting.context] ?? `context ${setting.context}`}`,
    'how: ALTER SYSTEM writes postgresql.auto.conf (which overrides postgresql.conf), then pg_reload_conf()',
  ];
}

function formatDefault(setting: SettingDefinition): string {
  const base = Number(setting.defaultValue);
  return setting.unit && Number.isFinite(base) ? formatSettingValue(base, setting.unit) : (setting.defaultValue ?? '');
}

export const settingsAction: GatedAction<SettingPlan> = {
  action: 'settings',
  plan: settingPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const sql = await alterSystemStatement(ctx.db, { name: plan.name, value: plan.kind === 'set' ? plan.value : null });
    return runApprovedMaintenance(ctx, 'settings', `${plan.kind === 'set' ? 'change' : 'reset'} of ${plan.name}`, [
      { title: sql, sql },
      {
        title: 'SELECT pg_reload_conf()',
        sql: 'SELECT pg_reload_conf()',
        after: () => readBack(ctx, plan),
      },
    ]);
  },
};

/** What the server says after the reload (which reaches other sessions within moments). */
async function readBack(ctx: Pick<Services, 'db'>, plan: SettingPlan): Promise<string> {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  let now = await readSettingDefinition(ctx.db, plan.name);
  const arrived = (s: SettingDefinition | null): boolean => {
    if (!s) return true;
    if (s.pendingRestart) return true;
    if (plan.kind === 'reset') return !s.sourceFile?.endsWith('postgresql.auto.conf');
    return plan.base !== null ? String(plan.base) === s.setting : (plan.value ?? '').toLowerCase() === s.setting.toLowerCase();
  };
  while (!arrived(now) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = await readSettingDefinition(ctx.db, plan.name);
  }
  if (!now) return `${plan.name} could not be read back`;
  if (now.pendingRestart) return `${now.name} is still ${now.shown}: the new value waits for a restart of the database (pending_restart)`;
  return `${now.name} is now ${now.shown}${arrived(now) ? '' : ' (the reload had not reached new sessions yet)'}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
