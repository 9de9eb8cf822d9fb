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
    expect(config.timeouts.rolloutMs).toBe(5 * 60_000);
    expect(config.app).toEqual({ namespace: 'default', deployment: 'recipe-app' });
    expect(config.scalableDeployments).toEqual(['default/recipe-app']);
    expect(config.verifyTables).toEqual(['recipe_manager.recipes', 'recipe_manager.users', 'recipe_manager.ingredients']);
    expect(config.backup).toEqual({ dir: '/backups/recipe-database', retentionDays: 30, schedule: '0 2 * * *' });
    expect(config.approvers).toEqual([]);
    expect(config.approvalTtlMs).toBe(15 * 60_000);
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.logLevel).toBe('info');
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
    [{ ROLLOUT_TIMEOUT: 'forever' }, /^ROLLOUT_TIMEOUT: must be a duration/],
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
});
