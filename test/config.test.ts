import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const slackEnv = {
  SLACK_BOT_TOKEN: 'xoxb-123-456-abcdefsecret',
  SLACK_SIGNING_SECRET: 'shhh-signing-secret',
  DATABASE_URL: 'postgres://ops:db-pass-123@db.internal:5432/recipe_database',
  STATE_DATABASE_URL: 'postgres://ops:state-pass-456@state.internal:5432/recipedb_ops',
};

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('defaults to the local console with the SPEC defaults', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('console');
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({
      namespace: 'recipe-database',
      deployment: 'recipe-database',
      container: 'recipe-database',
      service: 'recipe-database-service',
      pvc: 'recipe-database-pvc',
    });
    expect(config.rolloutTimeoutMs).toBe(5 * 60_000);
    expect(config.history).toEqual({ intervalMs: 60_000, retentionMs: 30 * 86_400_000 });
    expect(config.app).toEqual({ namespace: 'default', deployment: 'recipe-app' });
    expect(config.scalableDeployments).toEqual(['default/recipe-app']);
    expect(config.verifyTables).toEqual(['recipe_manager.recipes', 'recipe_manager.users', 'recipe_manager.ingredients']);
    expect(config.backup).toEqual({ dir: '/backups/recipe-database', retentionDays: 30, schedule: '0 2 * * *' });
    expect(config.approvers).toEqual([]);
    expect(config.approvalTtlMs).toBe(15 * 60_000);
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.logLevel).toBe('info');
  });

  it('keys plan hashes with PLAN_HMAC_KEY, else with a key derived from a Slack secret', () => {
    const key = 'k'.repeat(40);
    expect(loadConfig({ ...slackEnv, PLAN_HMAC_KEY: key }).planKey).toEqual(Buffer.from(key));
    expect(loadConfig({ ...slackEnv, PLAN_HMAC_KEY: key }).secrets).toContain(key);
    const derived = loadConfig(slackEnv).planKey;
    expect(derived).toHaveLength(32);
    // Not the secret itself, and the same on every replica with the same secret.
    expect(derived.toString('utf8')).not.toContain(slackEnv.SLACK_SIGNING_SECRET);
    expect(loadConfig(slackEnv).planKey).toEqual(derived);
    expect(loadConfig({ ...slackEnv, SLACK_SIGNING_SECRET: 'another-secret' }).planKey).not.toEqual(derived);
    expect(errorOf({ ...slackEnv, PLAN_HMAC_KEY: 'short' })).toBe('PLAN_HMAC_KEY: must be at least 32 characters (e.g. `openssl rand -hex 32`)');
  });

  it('reads HISTORY_INTERVAL (or off) and HISTORY_RETENTION', () => {
    expect(loadConfig({ HISTORY_INTERVAL: '30s', HISTORY_RETENTION: '7d' }).history).toEqual({ intervalMs: 30_000, retentionMs: 7 * 86_400_000, homeChartChannel: undefined });
    expect(loadConfig({ HOME_CHART_CHANNEL: 'C0CHARTS' }).history.homeChartChannel).toBe('C0CHARTS');
    expect(loadConfig({ HISTORY_INTERVAL: 'off' }).history.intervalMs).toBeNull();
  });

  it('picks HTTP mode with a bot token and Socket Mode with an app token too', () => {
    expect(loadConfig(slackEnv).mode).toBe('slack-http');
    expect(loadConfig({ ...slackEnv, SLACK_APP_TOKEN: 'xapp-1-abc-def' }).mode).toBe('slack-socket');
  });

  it.each([
    [{ ...slackEnv, SLACK_SIGNING_SECRET: '' }, /^SLACK_SIGNING_SECRET: is required in HTTP mode/],
    [{ ...slackEnv, DATABASE_URL: undefined }, /^DATABASE_URL: is required/],
    [{ ...slackEnv, STATE_DATABASE_URL: undefined }, /^STATE_DATABASE_URL: is required/],
    [{ PORT: 'eighty' }, /^PORT: must be a port number/],
    [{ PORT: '70000' }, /^PORT: must be a port number/],
    [{ APPROVAL_TTL: 'soon' }, /^APPROVAL_TTL: must be a duration/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: must be a postgres:\/\/ URL/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: must be one of/],
    [{ APPROVERS: 'alice,bob' }, /^APPROVERS: must be a comma list of Slack user IDs/],
    [{ ALLOWED_CHANNELS: '#ops' }, /^ALLOWED_CHANNELS: must be a comma list of Slack channel IDs/],
    [{ SCALABLE_DEPLOYMENTS: 'recipe-app' }, /^SCALABLE_DEPLOYMENTS: must be a comma list of namespace\/name/],
    [{ VERIFY_TABLES: 'recipes; DROP TABLE x' }, /^VERIFY_TABLES: must be a comma list of schema.table/],
    [{ BACKUP_SCHEDULE: 'daily' }, /^BACKUP_SCHEDULE: must be a 5-field cron/],
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token-secret' }, /^SLACK_BOT_TOKEN: must be a bot token/],
    [{ RECIPEDB_SERVICE: 'Recipe_DB' }, /^RECIPEDB_SERVICE: must be a Kubernetes object name/],
    [{ RECIPEDB_PVC: 'data/pvc' }, /^RECIPEDB_PVC: must be a Kubernetes object name/],
    [{ RECIPEDB_PVC: 'Data Volume' }, /^RECIPEDB_PVC: must be a Kubernetes object name/],
    [{ ROLLOUT_TIMEOUT: 'forever' }, /^ROLLOUT_TIMEOUT: must be a duration/],
    [{ HISTORY_INTERVAL: '1s' }, /^HISTORY_INTERVAL: must be a duration from 10s to 1h, or off/],
    [{ HOME_CHART_CHANNEL: '#recipedb-charts' }, /^HOME_CHART_CHANNEL: must be a Slack channel ID/],
    [{ HISTORY_INTERVAL: '2h' }, /^HISTORY_INTERVAL: must be a duration from 10s to 1h, or off/],
    [{ HISTORY_RETENTION: 'forever' }, /^HISTORY_RETENTION: must be a duration/],
    [{ HISTORY_RETENTION: '10m' }, /^HISTORY_RETENTION: must be at least 1h/],
  ])('refuses a bad value with one line naming the variable (%#)', (env, expected) => {
    const message = errorOf(env as NodeJS.ProcessEnv);
    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
  });

  it('never echoes a secret in its error', () => {
    const message = errorOf({ SLACK_BOT_TOKEN: 'xoxp-user-token-very-secret' });
    expect(message).not.toContain('very-secret');
    const urlMessage = errorOf({ DATABASE_URL: 'mysql://u:hunter2secret@x/y' });
    expect(urlMessage).not.toContain('hunter2secret');
  });

  it('refuses a state database inside the operated database', () => {
    const message = errorOf({ ...slackEnv, STATE_DATABASE_URL: 'postgres://other:pw@db.internal/recipe_database' });
    expect(message).toMatch(/^STATE_DATABASE_URL: must not be the operated database/);
  });

  it('collects the secrets to redact, including passwords inside URLs', () => {
    const config = loadConfig(slackEnv);
    expect(config.secrets).toEqual(expect.arrayContaining(['xoxb-123-456-abcdefsecret', 'shhh-signing-secret', 'db-pass-123', 'state-pass-456']));
  });

  describe('alerts (SPEC section 10)', () => {
    const token = 'a-random-alerts-token-0123456789';

    it('has no webhook by default, and sends alert messages to OPS_CHANNEL unless ALERTS_CHANNEL says otherwise', () => {
      expect(loadConfig(slackEnv).alerts).toEqual({ token: undefined, channel: undefined, alertmanagerUrl: undefined });
      expect(loadConfig({ ...slackEnv, OPS_CHANNEL: 'C_OPS', ALERTS_TOKEN: token }).alerts.channel).toBe('C_OPS');
      const config = loadConfig({ ...slackEnv, OPS_CHANNEL: 'C_OPS', ALERTS_CHANNEL: 'C_ALERTS', ALERTS_TOKEN: token, ALERTMANAGER_URL: 'http://alertmanager:9093' });
      expect(config.alerts).toEqual({ token, channel: 'C_ALERTS', alertmanagerUrl: 'http://alertmanager:9093' });
    });

    it('redacts the token, and a password in ALERTMANAGER_URL', () => {
      const config = loadConfig({ ...slackEnv, ALERTS_CHANNEL: 'C_ALERTS', ALERTS_TOKEN: token, ALERTMANAGER_URL: 'https://bot:am-pass-789@alertmanager:9093' });
      expect(config.secrets).toEqual(expect.arrayContaining([token, 'am-pass-789']));
    });

    it.each([
      [{ ALERTS_TOKEN: 'short' }, /^ALERTS_TOKEN: must be at least 16 printable characters/],
      [{ ALERTS_TOKEN: 'has a space in it, sixteen+' }, /^ALERTS_TOKEN: must be at least 16 printable characters/],
      [{ ALERTS_CHANNEL: '#alerts' }, /^ALERTS_CHANNEL: must be a Slack channel ID/],
      [{ ALERTMANAGER_URL: 'alertmanager:9093' }, /^ALERTMANAGER_URL: must be an http\(s\) URL/],
      [{ ...slackEnv, ALERTS_TOKEN: 'a-random-alerts-token-0123456789' }, /^ALERTS_CHANNEL: is required when ALERTS_TOKEN is set/],
    ])('refuses a bad alerts setting with one line naming the variable (%#)', (env, expected) => {
      const message = errorOf(env as NodeJS.ProcessEnv);
      expect(message).toMatch(expected);
      expect(message).not.toContain('a-random-alerts-token');
    });
  });

  it('reads MANAGED_USERS as role=namespace/secret/key, with the SPEC default, and none', () => {
    expect(loadConfig({}).managedUsers).toEqual([{ role: 'recipe_api', namespace: 'recipe-database', secret: 'recipe-database-secret', key: 'API_PASSWORD' }]);
    expect(loadConfig({ MANAGED_USERS: ' recipe_api=db/app-secret/API_PASSWORD , Reporting=db/report.creds/password ' }).managedUsers).toEqual([
      { role: 'recipe_api', namespace: 'db', secret: 'app-secret', key: 'API_PASSWORD' },
      { role: 'Reporting', namespace: 'db', secret: 'report.creds', key: 'password' },
    ]);
    expect(loadConfig({ MANAGED_USERS: 'none' }).managedUsers).toEqual([]);
    expect(loadConfig({}).rolloutTimeoutMs).toBe(5 * 60_000);
  });

  it.each([
    ['recipe_api', /^MANAGED_USERS: entry "recipe_api" must be role=namespace\/secret\/key$/],
    ['recipe;api=db/s/k', /^MANAGED_USERS: "recipe;api" is not a role name/],
    ['recipe_api=DB/s/k', /^MANAGED_USERS: "DB" is not a Kubernetes namespace name$/],
    ['recipe_api=db/S_ecret/k', /^MANAGED_USERS: "S_ecret" is not a Kubernetes Secret name$/],
    ['recipe_api=db/s/k y', /^MANAGED_USERS: "k y" is not a Secret key/],
    ['recipe_api=db/s/API_PASSWORD_PREVIOUS', /^MANAGED_USERS: the key "API_PASSWORD_PREVIOUS" ends with _PREVIOUS/],
    ['a=db/s/k,a=db/t/k', /^MANAGED_USERS: the role a is listed twice$/],
  ])('refuses MANAGED_USERS=%s in one line', (value, expected) => {
    expect(errorOf({ MANAGED_USERS: value })).toMatch(expected);
  });
});
