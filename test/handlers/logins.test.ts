/**
 * `logins` as the runbook's "Check for failed login attempts": real failed logins against a
 * PostgreSQL 15 test cluster with the official image's log_line_prefix ('%m [%p] ') and password
 * authentication; the lines that server wrote are then served as the database pod's log by the
 * fake Kubernetes API (through the real client and deploy/'s RBAC), and the answer groups them by
 * user and client address. When nothing can be read, it says why.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand } from '../../src/bot/dispatch.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl, withConnection } from '../../src/ops/postgres/databases.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { addRecipeDatabase, RECIPE_DATABASE_NAMESPACE as NS } from '../support/kube-fixtures.js';
import { startTestPostgres } from '../support/postgres.js';
import { useScramAuthentication } from '../support/scram-hba.js';
import { openTestServices, type TestServices } from '../support/services.js';

const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

let server: Awaited<ReturnType<typeof startTestPostgres>>;
let kube: FakeKube;
let services: TestServices;
let pod: string;

async function failedLogin(user: string, database = 'recipe_database'): Promise<string | undefined> {
  const client = new pg.Client({ host: server.pg.host, port: server.pg.port, user, password: 'not-the-password', database });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server log from `from` on, as the database container's output. */
async function serveServerLog(from: number): Promise<void> {
  const text = (await readFile(server.pg.logFile, 'utf8')).slice(from);
  kube.setLogs(NS, pod, 'recipe-database', text);
}

async function logSize(): Promise<number> {
  return (await readFile(server.pg.logFile)).length;
}

async function logins(text = 'logins'): Promise<string> {
  const reply = await dispatchCommand(text, actor, services);
  return renderBlocks(reply.message, { width: 400 }).text;
}

beforeAll(async () => {
  server = await startTestPostgres({ settings: { log_line_prefix: '%m [%p] ', log_timezone: 'UTC', log_connections: 'off' } });
  await useScramAuthentication(server.pg, ['host sales all 127.0.0.1/32 reject']);
  await createDemoDatabase(server.pg.url(), 'recipe_database', { recipes: 5, users: 2 });
  await withConnection(server.pg.url(), (client) => client.query(`CREATE ROLE recipe_api LOGIN PASSWORD 'the-real-one'`));
  kube = await startFakeKube();
  addRecipeDatabase(kube);
  const list = await fetch(`${kube.url}/api/v1/namespaces/${NS}/pods`).then((r) => r.json() as Promise<{ items: { metadata: { name: string } }[] }>);
  pod = list.items[0]?.metadata.name ?? '';
  services = await openTestServices({ databaseUrl: databaseUrl(server.pg.url(), 'recipe_database'), kubeconfig: kube.kubeconfigPath });
});
afterAll(async () => {
  await services?.close();
  await kube?.close();
  await server?.cleanup();
});
beforeEach(() => {
  kube.setLogs(NS, pod, 'recipe-database', '');
});

describe('logins', () => {
  it('groups real failed logins by user and address, with the reason and first/last seen', async () => {
    const start = await logSize();
    const before = Date.now();
    expect(await failedLogin('recipe_api')).toBe('28P01');
    expect(await failedLogin('recipe_api')).toBe('28P01');
    expect(await failedLogin('recipe_api')).toBe('28P01');
    expect(await failedLogin('ghost')).toBe('28P01');
    expect(await failedLogin('recipe_api', 'sales')).toBe('28000');
    await serveServerLog(start);

    const text = await logins();
    expect(text).toContain(`Failed logins on ${NS}/recipe-database`);
    expect(text).toContain('5 failed authentications, 3 users and addresses');
    expect(text).toMatch(/• recipe_api from unknown address — 3× wrong password · first \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · last /);
    expect(text).toContain('• ghost from unknown address — 1× wrong password (Role "ghost" does not exist.) · at ');
    expect(text).toContain('• recipe_api from 127.0.0.1 — 1× rejected by pg_hba.conf · database sales · at ');
    // The default prefix carries no address: the answer says how to get one.
    expect(text).toContain('4 failed password logins have no client address: the default log_line_prefix has none; set log_connections = on');
    // First seen is the server's own time of the first failure.
    const first = /first (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/.exec(text)?.[1] ?? '';
    expect(Math.abs(Date.parse(`${first.replace(' ', 'T')}Z`) - before)).toBeLessThan(10_000);
  });

  it('names the client address once log_connections is on', async () => {
    await withConnection(server.pg.url(), async (client) => {
      await client.query('ALTER SYSTEM SET log_connections = on');
      await client.query('SELECT pg_reload_conf()');
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const start = await logSize();
    expect(await failedLogin('recipe_api')).toBe('28P01');
    await serveServerLog(start);
    const text = await logins();
    expect(text).toContain('• recipe_api from 127.0.0.1 — 1× wrong password · at ');
    expect(text).not.toContain('have no client address');
    await withConnection(server.pg.url(), async (client) => {
      await client.query('ALTER SYSTEM RESET log_connections');
      await client.query('SELECT pg_reload_conf()');
    });
  });

  it('--since leaves out older lines', async () => {
    const old = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const recent = new Date(Date.now() - 60_000).toISOString();
    kube.setLogs(NS, pod, 'recipe-database', [
      `${old} 2026-12-03 09:00:00.000 UTC [10] FATAL:  password authentication failed for user "old_user"`,
      `${recent} 2026-12-03 11:59:00.000 UTC [11] FATAL:  password authentication failed for user "new_user"`,
    ].join('\n'));
    const all = await logins();
    expect(all).toContain('old_user');
    const since = await logins('logins --since 1h');
    expect(since).toContain('new_user');
    expect(since).not.toContain('old_user');
    expect(since).toContain('the last 1h');
  });

  it('says there is none when the log holds no failure', async () => {
    kube.setLogs(NS, pod, 'recipe-database', '2026-12-03 12:00:00.000 UTC [1] LOG:  database system is ready to accept connections\n');
    expect(await logins()).toContain('No failed authentication in 1 PostgreSQL log lines.');
  });

  it.each([
    ['an empty log', '', "The database pods' logs are empty: there is nothing to read."],
    [
      'the log in files (logging_collector = on)',
      '2026-12-03 12:00:00.000 UTC [1] LOG:  redirecting log output to logging collector process\n',
      'PostgreSQL writes its log to files inside the container (logging_collector = on)',
    ],
    ['another format', '{"level":"info","msg":"hello"}\nplain text\n', "None of the 2 log lines is in PostgreSQL's format with log_line_prefix '%m [%p] ' (the server's is '%m [%p] ')"],
  ])('says why nothing can be read: %s', async (_what, log, expected) => {
    kube.setLogs(NS, pod, 'recipe-database', log);
    expect(await logins()).toContain(expected);
  });

  it('says so when no pod log can be read, and when Kubernetes is not configured', async () => {
    kube.failWith(`/api/v1/namespaces/${NS}/pods/${pod}/log`, 500);
    try {
      expect(await logins()).toContain("No pod's log could be read");
    } finally {
      kube.failWith(null, 0);
    }
    const noKube = await openTestServices({ databaseUrl: services.databaseUrl });
    try {
      const reply = await dispatchCommand('logins', actor, noKube);
      expect(renderBlocks(reply.message).text).toContain("Kubernetes is not configured, so the database's log cannot be read");
    } finally {
      await noKube.close();
    }
  });

  it('answers bad options with its usage', async () => {
    const reply = await dispatchCommand('logins --since yesterday', actor, services);
    expect(reply.outcome).toBe('usage');
    expect(renderBlocks(reply.message).text).toContain('--since takes a duration like 30m, 2h or 1d');
  });
});
