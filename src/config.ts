/**
 * The one typed configuration object, parsed once at start-up from the environment (SPEC section 2).
 *
 *   const config = loadConfig(process.env); // throws ConfigError('PORT: must be a port number …')
 */
import { hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { parseCronSchedule, ScheduleError } from './cron-schedule.js';
import { parseDuration } from './duration.js';
import { urlPassword } from './redact.js';
import { parseManagedUsers, type ManagedUser } from './managed-users-config.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s ? s : undefined));

const commaList = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean));

const postgresUrl = optionalText.refine(
  (s) => s === undefined || /^postgres(ql)?:\/\//.test(s) && URL.canParse(s),
  'must be a postgres:// URL',
);

const duration = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      const ms = parseDuration(s?.trim() || fallback);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration like 30s, 15m or 2h' });
        return z.NEVER;
      }
      return ms;
    });

const intInRange = (fallback: number, min: number, max: number, what: string) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      const text = s?.trim() || String(fallback);
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what} (${min}–${max})` });
        return z.NEVER;
      }
      return n;
    });

/** A 5-field cron expression (UTC) that cron can follow, or `off`. */
const cronOrOff = (fallback: string) =>
  optionalText
    .transform((s) => s ?? fallback)
    .refine((s) => s === 'off' || s.split(/\s+/).length === 5, 'must be a 5-field cron expression (UTC) or off')
    .superRefine((s, ctx) => {
      if (s === 'off') return;
      try {
        parseCronSchedule(s);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof ScheduleError ? error.message : String(error) });
      }
    });

/** A duration within [min, max], or `off`: null. */
const durationOrOff = (fallback: string, min: number, max: number, what: string) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      const text = s?.trim() || fallback;
      if (text === 'off') return null;
      const ms = parseDuration(text);
      if (ms === undefined || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what}, or off` });
        return z.NEVER;
      }
      return ms;
    });

/** A Slack user group ID (S…), mentioned when an incident is escalated to that level. */
const userGroup = optionalText.refine((s) => s === undefined || /^S[A-Z0-9_]+$/.test(s), 'must be a Slack user group ID (S…)');

/** A Kubernetes object name (RFC 1123 subdomain), as the API server accepts it. */
const kubeName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name (lowercase letters, digits, dashes and dots)');

const percent = (fallback: number) => intInRange(fallback, 0, 100, 'a percentage');

const envSchema = z.object({
  SLACK_BOT_TOKEN: optionalText.refine((s) => s === undefined || s.startsWith('xoxb-'), 'must be a bot token starting with xoxb-'),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText.refine((s) => s === undefined || s.startsWith('xapp-'), 'must be an app-level token starting with xapp-'),
  SLACK_API_URL: optionalText
    .refine((s) => s === undefined || /^https?:\/\//.test(s) && URL.canParse(s), 'must be an http(s) URL')
    .transform((s) => (s ?? 'https://slack.com/api/').replace(/\/?$/, '/')),
  PORT: intInRange(3000, 0, 65535, 'a port number'),
  DATABASE_URL: postgresUrl,
  STATE_DATABASE_URL: postgresUrl,
  KUBECONFIG: optionalText,
  RECIPEDB_NAMESPACE: optionalText.transform((s) => s ?? 'recipe-database'),
  RECIPEDB_DEPLOYMENT: optionalText.transform((s) => s ?? 'recipe-database'),
  RECIPEDB_CONTAINER: optionalText.transform((s) => s ?? 'recipe-database'),
  RECIPEDB_SERVICE: optionalText.transform((s) => s ?? 'recipe-database-service').pipe(kubeName),
  RECIPEDB_PVC: optionalText.transform((s) => s ?? 'recipe-database-pvc').pipe(kubeName),
  APP_NAMESPACE: optionalText.transform((s) => s ?? 'default'),
  APP_DEPLOYMENT: optionalText.transform((s) => s ?? 'recipe-app'),
  SCALABLE_DEPLOYMENTS: optionalText
    .transform((s) => (s ?? 'default/recipe-app').split(',').map((x) => x.trim()).filter(Boolean))
    .refine((list) => list.every((x) => /^[a-z0-9-]+\/[a-z0-9.-]+$/.test(x)), 'must be a comma list of namespace/name'),
  VERIFY_TABLES: optionalText
    .transform((s) =>
      (s ?? 'recipe_manager.recipes,recipe_manager.users,recipe_manager.ingredients').split(',').map((x) => x.trim()).filter(Boolean),
    )
    .refine((list) => list.every((x) => /^[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*$/.test(x)), 'must be a comma list of schema.table'),
  BACKUP_DIR: optionalText.transform((s) => s ?? '/backups/recipe-database'),
  BACKUP_RETENTION_DAYS: intInRange(30, 1, 3650, 'a number of days'),
  BACKUP_SCHEDULE: cronOrOff('0 2 * * *'),
  APPROVERS: commaList.refine((list) => list.every((x) => /^[UW][A-Z0-9_]+$/.test(x)), 'must be a comma list of Slack user IDs (U…)'),
  APPROVAL_TTL: duration('15m'),
  ALLOWED_CHANNELS: commaList.refine((list) => list.every((x) => /^[CGD][A-Z0-9_]+$/.test(x)), 'must be a comma list of Slack channel IDs (C…)'),
  OPS_CHANNEL: optionalText.refine((s) => s === undefined || /^[CGD][A-Z0-9_]+$/.test(s), 'must be a Slack channel ID (C…)'),
  EXPORTER_URL: optionalText.refine((s) => s === undefined || /^https?:\/\//.test(s) && URL.canParse(s), 'must be an http(s) URL'),
  ESCALATION_L1: userGroup,
  ESCALATION_L2: userGroup,
  ESCALATION_L3: userGroup,
  ESCALATION_MGMT: userGroup,
  INCIDENT_REACTION: optionalText
    .transform((s) => (s ?? 'pushpin').replace(/^:|:$/g, ''))
    .refine((s) => /^[a-z0-9_+-]+$/.test(s), 'must be an emoji name like pushpin'),
  LOG_LEVEL: optionalText.transform((s) => s ?? 'info').pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })),
  // Thresholds the runbook names (status verdict); additions to the contract.
  STATUS_CACHE_HIT_MIN_PERCENT: percent(95),
  STATUS_CONNECTIONS_MAX_PERCENT: percent(80),
  STATUS_LONG_TRANSACTION: duration('5m'),
  STATUS_SOURCE_TIMEOUT: duration('2s'),
  RESTORE_LOCK_WAIT: duration('5m'),
  // How long a rollout may take: resize, image and storage expand wait this long for the database's new pod to be
  // ready (resize and image then put the old container back); a restart after a password rotation, before the
  // report says it did not complete.
  ROLLOUT_TIMEOUT: duration('5m'),
  DB_CONNECT_TIMEOUT: duration('3s'),
  DB_STATEMENT_TIMEOUT: duration('5s'),
  // Kubernetes' default terminationGracePeriodSeconds is 30: the drain and its cleanup fit inside it.
  SHUTDOWN_GRACE: duration('20s'),
  // A replica silent this long is presumed dead: its scheduled backup is taken over, its action reported as interrupted.
  REPLICA_TIMEOUT: duration('60s').refine((ms) => ms >= 2_000, 'must be at least 2s'),
  // Keys the hash of every stored plan, so a plan edited in the state database is refused (README, Security).
  PLAN_HMAC_KEY: optionalText.refine((s) => s === undefined || s.length >= 32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)'),
  // Alertmanager's webhook (SPEC section 10). The token is what Alertmanager's receiver sends as its bearer credentials.
  ALERTS_TOKEN: optionalText.refine(
    (s) => s === undefined || (s.length >= 16 && /^[\x21-\x7e]+$/.test(s)),
    'must be at least 16 printable characters without spaces (a random secret, e.g. `openssl rand -hex 32`)',
  ),
  ALERTS_CHANNEL: optionalText.refine((s) => s === undefined || /^[CGD][A-Z0-9_]+$/.test(s), 'must be a Slack channel ID (C…)'),
  ALERTMANAGER_URL: optionalText.refine((s) => s === undefined || /^https?:\/\//.test(s) && URL.canParse(s), 'must be an http(s) URL'),
  MANAGED_USERS: optionalText.transform((s, ctx) => {
    const parsed = parseManagedUsers(s ?? 'recipe_api=recipe-database/recipe-database-secret/API_PASSWORD');
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  }),
  // A maintenance statement waiting longer than this for a lock gives up and retries, so it never queues ahead of the application.
  MAINTENANCE_LOCK_TIMEOUT: duration('5s').refine((ms) => ms >= 100, 'must be at least 100ms'),
  MAINTENANCE_PROGRESS_INTERVAL: duration('3s').refine((ms) => ms >= 100, 'must be at least 100ms'),
  // History (SPEC section 13): one sample per interval across replicas; `off` samples nothing.
  HISTORY_INTERVAL: durationOrOff('1m', 10_000, 3_600_000, 'a duration from 10s to 1h'),
  HISTORY_RETENTION: duration('30d').refine((ms) => ms >= 3_600_000, 'must be at least 1h'),
  HOME_CHART_CHANNEL: optionalText.refine((s) => s === undefined || /^[CG][A-Z0-9_]+$/.test(s), 'must be a Slack channel ID (C…)'),
  // Point-in-time recovery with pgBackRest (SPEC section 12).
  PGBACKREST_STANZA: optionalText.refine((s) => s === undefined || /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(s), 'must be a pgBackRest stanza name (letters, digits, . _ -)'),
  PGBACKREST_CONFIG: optionalText.refine((s) => s === undefined || s.startsWith('/'), 'must be an absolute path to a pgbackrest.conf'),
  PITR_BACKUP_SCHEDULE: cronOrOff('off'),
  PITR_FULL_BACKUP_INTERVAL: duration('7d'),
  PITR_RESTORE_TIMEOUT: duration('30m'),
});

export const ESCALATION_LEVELS = ['1', '2', '3', 'mgmt'] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

export type Mode = 'slack-http' | 'slack-socket' | 'console';

export interface Config {
  mode: Mode;
  slack: { botToken?: string; signingSecret?: string; appToken?: string; apiUrl: string };
  port: number;
  databaseUrl?: string;
  stateDatabaseUrl?: string;
  kubeconfig?: string;
  /** Where the database runs: its deployment and container, the Service the application connects to, its data volume claim. */
  database: { namespace: string; deployment: string; container: string; service: string; pvc: string };
  app: { namespace: string; deployment: string };
  scalableDeployments: string[];
  verifyTables: string[];
  backup: { dir: string; retentionDays: number; schedule: string };
  approvers: string[];
  approvalTtlMs: number;
  allowedChannels: string[];
  opsChannel?: string;
  exporterUrl?: string;
  incidents: { escalation: Record<EscalationLevel, string | undefined>; reaction: string };
  logLevel: (typeof LOG_LEVELS)[number];
  thresholds: { cacheHitMinPercent: number; connectionsMaxPercent: number; longTransactionMs: number };
  timeouts: { sourceMs: number; connectMs: number; statementMs: number; restoreLockWaitMs: number };
  /** How long running work may go on after SIGTERM before it is asked to stop. */
  shutdownGraceMs: number;
  /** A replica whose heartbeat is older than this is presumed dead. */
  replicaTimeoutMs: number;
  /**
   * The key of the plans' HMAC: PLAN_HMAC_KEY, else derived from the signing secret or bot token
   * (never stored in the state database, which it protects).
   */
  planKey: Buffer;
  /** Alertmanager: the webhook's token (no token: no `/alerts`), where alert messages go, and its API for silences. */
  alerts: { token?: string; channel?: string; alertmanagerUrl?: string };
  /** Roles whose password `user rotate-password` may change, and the Secret key that holds it. */
  managedUsers: ManagedUser[];
  /** How long a rollout may take (ROLLOUT_TIMEOUT): resize, image, storage expand, restarts after a rotation, scale. */
  rolloutTimeoutMs: number;
  /** SPEC section 9: how long a maintenance statement may wait for a lock, and how often its progress is redrawn. */
  maintenance: { lockTimeoutMs: number; progressIntervalMs: number };
  /** How often the key figures are sampled into the state database (null: off), and for how long they are kept. */
  /**
   * The App Home's 24 h picture is a file the bot shares in `homeChartChannel` (an image block may
   * only name a file its viewers can see); undefined: the Home shows sparklines.
   */
  history: { intervalMs: number | null; retentionMs: number; homeChartChannel?: string };
  /**
   * pgBackRest (SPEC section 12), or null when PGBACKREST_STANZA is not set. Scheduled base backups
   * are incremental, full when the newest full one is older than `fullBackupIntervalMs`;
   * `restoreTimeoutMs` bounds the restore of the data directory and, again, the recovery after it.
   */
  pitr: { stanza: string; configFile?: string; schedule: string; fullBackupIntervalMs: number; restoreTimeoutMs: number } | null;
  /** Values that must never appear in logs or messages. */
  secrets: string[];
}

/** Parses the environment; throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${variable}: ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  const mode: Mode = !e.SLACK_BOT_TOKEN ? 'console' : e.SLACK_APP_TOKEN ? 'slack-socket' : 'slack-http';
  if (mode === 'slack-http' && !e.SLACK_SIGNING_SECRET) {
    throw new ConfigError('SLACK_SIGNING_SECRET: is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (mode !== 'console' && !e.DATABASE_URL) throw new ConfigError('DATABASE_URL: is required when running on Slack');
  if (mode !== 'console' && !e.STATE_DATABASE_URL) throw new ConfigError('STATE_DATABASE_URL: is required when running on Slack');
  if (e.DATABASE_URL && e.STATE_DATABASE_URL && sameDatabase(e.DATABASE_URL, e.STATE_DATABASE_URL)) {
    throw new ConfigError('STATE_DATABASE_URL: must not be the operated database (a restore would rewind the bot\'s own records)');
  }
  const alertsChannel = e.ALERTS_CHANNEL ?? e.OPS_CHANNEL;
  if (mode !== 'console' && e.ALERTS_TOKEN && !alertsChannel) {
    throw new ConfigError('ALERTS_CHANNEL: is required when ALERTS_TOKEN is set (or set OPS_CHANNEL): alert messages need a channel');
  }
  const secrets = [
    e.SLACK_BOT_TOKEN, e.SLACK_SIGNING_SECRET, e.SLACK_APP_TOKEN, urlPassword(e.DATABASE_URL), urlPassword(e.STATE_DATABASE_URL),
    e.ALERTS_TOKEN, urlPassword(e.ALERTMANAGER_URL), e.PLAN_HMAC_KEY,
    // pgBackRest's own credentials (PGBACKREST_REPO1_S3_KEY_SECRET, …CIPHER_PASS…) reach it through the environment.
    ...Object.entries(env).filter(([name]) => /^PGBACKREST_.*(KEY|PASS|SECRET|TOKEN)/.test(name)).map(([, value]) => value),
  ].filter((s): s is string => Boolean(s));
  if (e.PITR_BACKUP_SCHEDULE !== 'off' && !e.PGBACKREST_STANZA) {
    throw new ConfigError('PITR_BACKUP_SCHEDULE: needs PGBACKREST_STANZA (point-in-time recovery is not configured)');
  }
  return {
    mode,
    slack: { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL },
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    stateDatabaseUrl: e.STATE_DATABASE_URL,
    kubeconfig: e.KUBECONFIG,
    database: {
      namespace: e.RECIPEDB_NAMESPACE,
      deployment: e.RECIPEDB_DEPLOYMENT,
      container: e.RECIPEDB_CONTAINER,
      service: e.RECIPEDB_SERVICE,
      pvc: e.RECIPEDB_PVC,
    },
    app: { namespace: e.APP_NAMESPACE, deployment: e.APP_DEPLOYMENT },
    scalableDeployments: e.SCALABLE_DEPLOYMENTS,
    verifyTables: e.VERIFY_TABLES,
    backup: { dir: e.BACKUP_DIR, retentionDays: e.BACKUP_RETENTION_DAYS, schedule: e.BACKUP_SCHEDULE },
    approvers: e.APPROVERS,
    approvalTtlMs: e.APPROVAL_TTL,
    allowedChannels: e.ALLOWED_CHANNELS,
    opsChannel: e.OPS_CHANNEL,
    exporterUrl: e.EXPORTER_URL,
    incidents: {
      escalation: { '1': e.ESCALATION_L1, '2': e.ESCALATION_L2, '3': e.ESCALATION_L3, mgmt: e.ESCALATION_MGMT },
      reaction: e.INCIDENT_REACTION,
    },
    logLevel: e.LOG_LEVEL,
    thresholds: {
      cacheHitMinPercent: e.STATUS_CACHE_HIT_MIN_PERCENT,
      connectionsMaxPercent: e.STATUS_CONNECTIONS_MAX_PERCENT,
      longTransactionMs: e.STATUS_LONG_TRANSACTION,
    },
    timeouts: { sourceMs: e.STATUS_SOURCE_TIMEOUT, connectMs: e.DB_CONNECT_TIMEOUT, statementMs: e.DB_STATEMENT_TIMEOUT, restoreLockWaitMs: e.RESTORE_LOCK_WAIT },
    shutdownGraceMs: e.SHUTDOWN_GRACE,
    replicaTimeoutMs: e.REPLICA_TIMEOUT,
    planKey: planKey(e.PLAN_HMAC_KEY, e.SLACK_SIGNING_SECRET ?? e.SLACK_BOT_TOKEN),
    alerts: { token: e.ALERTS_TOKEN, channel: alertsChannel, alertmanagerUrl: e.ALERTMANAGER_URL },
    managedUsers: e.MANAGED_USERS,
    rolloutTimeoutMs: e.ROLLOUT_TIMEOUT,
    maintenance: { lockTimeoutMs: e.MAINTENANCE_LOCK_TIMEOUT, progressIntervalMs: e.MAINTENANCE_PROGRESS_INTERVAL },
    history: { intervalMs: e.HISTORY_INTERVAL, retentionMs: e.HISTORY_RETENTION, homeChartChannel: e.HOME_CHART_CHANNEL },
    pitr: e.PGBACKREST_STANZA
      ? {
          stanza: e.PGBACKREST_STANZA,
          configFile: e.PGBACKREST_CONFIG,
          schedule: e.PITR_BACKUP_SCHEDULE,
          fullBackupIntervalMs: e.PITR_FULL_BACKUP_INTERVAL,
          restoreTimeoutMs: e.PITR_RESTORE_TIMEOUT,
        }
      : null,
    secrets,
  };
}

/**
 * PLAN_HMAC_KEY as given; without it, a key derived (HKDF) from a Slack secret every replica
 * shares, so the deployment still has a key the state database does not hold. Rotating that
 * secret then invalidates pending requests (they are refused at approval, nothing done). The
 * console, whose state is a local database of its user, derives it from a constant.
 */
function planKey(configured: string | undefined, slackSecret: string | undefined): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  return Buffer.from(hkdfSync('sha256', slackSecret ?? 'recipedb-ops local console', 'recipedb-ops', 'approval plan hmac', 32));
}

function sameDatabase(a: string, b: string): boolean {
  const key = (u: string) => {
    const url = new URL(u);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  };
  return key(a) === key(b);
}
