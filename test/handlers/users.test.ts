/**
 * `users`, the permission audit, on a demo Recipe Database: the runbook's role attributes plus
 * what an auditor flags — a second superuser, passwords that never expire or already expired,
 * MD5 passwords, PUBLIC-like reach (pg_read_all_data, grants and default privileges to PUBLIC),
 * and a session running as a superuser right now whose application_name says "psql" (which the
 * runbook's query would have let through). Roles are cluster-wide and the test cluster is shared,
 * so every role here has a name of its own and the assertions look for them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand } from '../../src/bot/dispatch.js';
import { auditFindings, usersHandler } from '../../src/handlers/users.js';
import { withConnection } from '../../src/ops/postgres/databases.js';
import { readRoleAudit, type RoleAudit } from '../../src/ops/postgres/role-audit.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { runHandler } from '../support/handlers.js';

const tag = randomBytes(3).toString('hex');
const role = (name: string): string => `${name}_${tag}`;
const APP = role('app');
const READER = role('reader');
const EXTRA_SUPER = role('admin');
const OLD = role('expired');
const LEGACY = role('legacy');
const ROLES = [APP, READER, EXTRA_SUPER, OLD, LEGACY];

let url: string;
let services: TestServices;
let session: pg.Client;
/** The backend pid of `session` (pg keeps it without declaring it). */
const pidOf = (client: pg.Client): number => (client as unknown as { processID: number }).processID;

beforeAll(async () => {
  url = await createDemoTestDatabase({ recipes: 5, users: 3 });
  await withConnection(url, async (c) => {
    await c.query(`CREATE ROLE ${APP} LOGIN PASSWORD 'app-secret' CONNECTION LIMIT 20`);
    await c.query(`GRANT USAGE ON SCHEMA recipe_manager TO ${APP}`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA recipe_manager TO ${APP}`);
    await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA recipe_manager TO ${APP}`);
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA recipe_manager GRANT SELECT ON TABLES TO ${APP}`);
    await c.query(`CREATE ROLE ${READER} LOGIN PASSWORD 'reader-secret' VALID UNTIL '2099-01-01'`);
    await c.query(`GRANT pg_read_all_data TO ${READER}`);
    await c.query(`CREATE ROLE ${EXTRA_SUPER} SUPERUSER LOGIN PASSWORD 'admin-secret'`);
    await c.query(`CREATE ROLE ${OLD} LOGIN PASSWORD 'old-secret' VALID UNTIL '2020-01-01'`);
    await c.query(`SET password_encryption = 'md5'`);
    await c.query(`CREATE ROLE ${LEGACY} LOGIN PASSWORD 'legacy-secret'`);
    await c.query(`GRANT SELECT ON recipe_manager.reviews TO PUBLIC`);
  });
  // A client that calls itself psql, running as the superuser: the runbook's query would skip it.
  session = new pg.Client({ connectionString: url, application_name: 'psql' });
  await session.connect();
  services = await openTestServices({ databaseUrl: url });
});
afterAll(async () => {
  await session?.end();
  await services?.close();
  await withConnection(url, async (c) => {
    for (const r of ROLES) await c.query(`DROP OWNED BY ${r}; DROP ROLE ${r}`);
  });
});

describe('users', () => {
  let text: string;

  beforeAll(async () => {
    const reply = await dispatchCommand('users', { userId: 'U_ALICE', channelId: 'C_OPS' }, services);
    expect(reply.outcome).toBe('ok');
    text = renderBlocks(reply.message, { width: 1_000 }).text;
  });

  it('lists every role with its attributes, memberships and password expiry', () => {
    expect(text).toContain('Permission audit of demo_');
    expect(text).toContain(`• ${APP} — login · connection limit 20 · password never expires · password scram-sha-256`);
    expect(text).toContain(`• ${READER} — login · password expires 2099-01-01 00:00:00 UTC · password scram-sha-256 · member of pg_read_all_data`);
    expect(text).toContain(`• ${EXTRA_SUPER} — superuser · login`);
    expect(text).toMatch(/• postgres — superuser \(bootstrap\) · login · createrole · createdb · replication · bypassrls/);
  });

  it('shows what each login role may do on the application schema, and the default privileges', () => {
    expect(text).toContain('What each login role may do on recipe_manager');
    expect(text).toContain(`• ${APP}: CONNECT ✓ · USAGE ✓ · CREATE ✗ · 4 tables: SELECT 4, INSERT 4, UPDATE 4, DELETE 4 · 4 sequences: USAGE 4`);
    // pg_read_all_data reaches every table without a grant on any; reviews is granted to PUBLIC.
    expect(text).toContain(`• ${READER}: CONNECT ✓ · USAGE ✓ · CREATE ✗ · 4 tables: SELECT 4 · 4 sequences: none`);
    expect(text).toContain(`• ${OLD}: CONNECT ✓ · USAGE ✗ · CREATE ✗ · 4 tables: SELECT 1 · 4 sequences: none`);
    expect(text).toContain(`• tables postgres creates in recipe_manager → ${APP}: SELECT`);
  });

  it('flags the unexpected superuser, expiry, MD5, PUBLIC-like reach and the superuser session', () => {
    expect(text).toContain(`⚠️ ${EXTRA_SUPER} is a superuser; only postgres (the bootstrap superuser) is expected to be.`);
    expect(text).toContain(`⚠️ ${READER} is a member of pg_read_all_data: it can read every table in every schema.`);
    expect(text).toContain(`⚠️ ${OLD}'s password expired at 2020-01-01 00:00:00 UTC: its password logins fail.`);
    expect(text).toContain(`⚠️ ${LEGACY}'s password is stored as MD5, which PostgreSQL deprecates`);
    expect(text).toContain('⚠️ PUBLIC has SELECT on table recipe_manager.reviews: every role, also ones created later, gets it.');
    expect(text).toContain(`ℹ️ ${APP} can log in and its password never expires (no VALID UNTIL).`);
    expect(text).toMatch(/ℹ️ PUBLIC has CONNECT on database demo_\w+ \(PostgreSQL's default\)/);
    expect(text).toMatch(new RegExp(`⚠️ pid ${pidOf(session)} runs as the superuser postgres right now: application "psql" from 127\\.0\\.0\\.1, since `));
    // Warnings come before notices.
    expect(text.indexOf('⚠️')).toBeLessThan(text.indexOf('ℹ️'));
  });

  it('does not let a superuser session hide behind the bot-like or an interactive name', async () => {
    const audit = await readRoleAudit(services.db, { schemas: ['recipe_manager'] });
    const mine = audit.superuserSessions.find((s) => s.pid === pidOf(session));
    expect(mine).toMatchObject({ user: 'postgres', application: 'psql', client: '127.0.0.1', bot: false });
    // The bot's own pool sessions are told apart (by pid), not left out.
    expect(audit.superuserSessions.some((s) => s.bot)).toBe(true);
  });

  it("does not take a superuser session named like the bot for the bot's: it is flagged", async () => {
    const lookalike = new pg.Client({ connectionString: url, application_name: 'recipedb-ops' });
    await lookalike.connect();
    try {
      const audit = await readRoleAudit(services.db, { schemas: ['recipe_manager'] });
      expect(audit.superuserSessions.find((s) => s.pid === pidOf(lookalike))).toMatchObject({ application: 'recipedb-ops', bot: false });
      const findings = (await runHandler(usersHandler, handlerContext(services))).findings;
      expect(findings.map((f) => f.text)).toContainEqual(expect.stringMatching(new RegExp(`^pid ${pidOf(lookalike)} runs as the superuser postgres right now: application "recipedb-ops"`)));
    } finally {
      await lookalike.end();
    }
  });
});

describe('auditFindings', () => {
  const base: RoleAudit = {
    database: 'recipe_database', serverVersionNum: 150018, bootstrapSuperuser: 'postgres', currentUser: 'recipedb_ops',
    schemas: ['recipe_manager'], missingSchemas: [], roles: [], reach: [], defaults: [], publicGrants: [], superuserSessions: [],
  };
  const login = { superuser: false, createRole: false, createDb: false, login: true, replication: false, bypassRls: false, inherit: true, connectionLimit: null, validUntil: null, expired: false, memberOf: [], password: null };

  it('says when the bot itself connects as a superuser, and warns of a password about to expire', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const findings = auditFindings({
      ...base,
      roles: [
        { ...login, name: 'recipedb_ops', superuser: true },
        { ...login, name: 'recipe_api', validUntil: new Date('2026-12-05T12:00:00Z') },
      ],
      defaults: [{ creator: 'postgres', schema: 'recipe_manager', objects: 'tables', grantee: 'PUBLIC', privileges: ['SELECT'] }],
      missingSchemas: ['recipe_manager'],
    }, now);
    expect(findings.map((f) => f.text)).toEqual([
      'recipedb_ops is a superuser; only postgres (the bootstrap superuser) is expected to be. The bot itself connects as it: it needs only CREATEROLE, pg_monitor and pg_signal_backend.',
      'recipe_api\'s password expires at 2026-12-05 12:00:00 UTC, within a week.',
      'Default privileges give PUBLIC SELECT on the tables postgres creates in recipe_manager.',
      'recipedb_ops can log in and its password never expires (no VALID UNTIL).',
      'The application schema recipe_manager does not exist in recipe_database (from VERIFY_TABLES).',
    ]);
  });

  it('finds nothing to flag in a tidy database', () => {
    expect(auditFindings({ ...base, roles: [{ ...login, name: 'postgres', superuser: true, login: false }] }, new Date())).toEqual([]);
  });
});
