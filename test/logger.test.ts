import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createScrubber } from '../src/redact.js';
import { captureLog } from './support/log-capture.js';
import { sharedTestPostgres } from './support/postgres.js';

const BOT_TOKEN = 'xoxb-1111-2222-topsecretbottoken';
const APP_TOKEN = 'xapp-1-A111-333-topsecretapptoken';
const SIGNING_SECRET = 'topsecret-signing-secret-value';
const DB_PASSWORD = 'p@ss:w0rd/with%specials';

function configWithSecrets() {
  const { port } = sharedTestPostgres();
  return loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_APP_TOKEN: APP_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    DATABASE_URL: `postgres://postgres:${encodeURIComponent(DB_PASSWORD)}@127.0.0.1:${port}/no_such_database_here`,
    STATE_DATABASE_URL: `postgres://postgres:other-state-password@127.0.0.1:${port}/postgres`,
  });
}

function expectNoSecrets(text: string) {
  for (const secret of [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, DB_PASSWORD, encodeURIComponent(DB_PASSWORD), 'other-state-password', 'topsecret']) {
    expect(text).not.toContain(secret);
  }
}

describe('logging', () => {
  it('redacts secrets in fields, messages, URLs and errors', () => {
    const config = configWithSecrets();
    const capture = captureLog();
    const log = createLogger({ level: 'debug', secrets: config.secrets, destination: capture.stream, pretty: false });
    log.info({ config }, 'configuration loaded');
    log.info({ token: BOT_TOKEN, headers: { authorization: `Bearer ${BOT_TOKEN}` } }, 'calling Slack');
    log.warn(`connecting to ${config.databaseUrl}`);
    log.error({ err: new Error(`could not connect to ${config.stateDatabaseUrl} with token ${APP_TOKEN}`) }, 'failed');
    log.info({ nested: { deeper: { note: `secret is ${SIGNING_SECRET}` } } }, 'deep');
    log.info('unknown url postgres://someone:notInConfig99@host/db and token xoxb-9-9-unknowntoken');
    const text = capture.text();
    expectNoSecrets(text);
    expect(text).not.toContain('notInConfig99');
    expect(text).not.toContain('unknowntoken');
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('configuration loaded');
    // Still JSON lines, one per call.
    expect(capture.lines()).toHaveLength(6);
  });

  it('redacts the password inside a real pg connection error', async () => {
    const config = configWithSecrets();
    const capture = captureLog();
    const log = createLogger({ level: 'debug', secrets: config.secrets, destination: capture.stream, pretty: false });
    const client = new pg.Client({ connectionString: config.databaseUrl });
    const error = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    log.error({ err: error, url: config.databaseUrl }, `database error: ${(error as Error).message} (${config.databaseUrl})`);
    const text = capture.text();
    expect(text).toContain('no_such_database_here');
    expectNoSecrets(text);
  });

  it('scrubs free text with the same rules', () => {
    const scrub = createScrubber(['hunter2secret']);
    expect(scrub('postgres://bot:hunter2secret@db/x')).toBe('postgres://bot:[REDACTED]@db/x');
    expect(scrub('host=db password=abc123 user=x')).toBe('host=db password=[REDACTED] user=x');
    expect(scrub('plain hunter2secret text')).toBe('plain [REDACTED] text');
  });
});
