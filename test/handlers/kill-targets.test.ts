/**
 * What `kill` ends, against real sessions: only what was approved (the same backend still running
 * the same query, or still in the same transaction), never the bot's own sessions, and a session
 * that merely calls itself `recipedb-ops` like any other.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAction, killHandler, type KillPlan } from '../../src/handlers/kill.js';
import { activeHandler } from '../../src/handlers/active.js';
import type { GatedResult } from '../../src/handlers/gated.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { openMaintenanceSession } from '../../src/ops/postgres/maintenance-session.js';
import { botSessionPids, nameToolSession, trackNamedToolSession, trackToolSession } from '../../src/ops/postgres/bot-sessions.js';
import { runBackup } from '../../src/ops/backup/run-backup.js';
import { lockRecipes, tempBackupDir, waitingPgDumpPid, waitUntil } from '../ops/backup/backup-fixtures.js';
import { killAdvice } from '../../src/handlers/lock-wait-watchdog.js';

let services: TestServices;
const sessions: Session[] = [];

interface Session {
  client: pg.Client;
  pid: number;
  /** Settles when the query started by `run` ends (its error message, or 'finished'). */
  running: Promise<string>;
  run(sql: string): void;
}

async function openSession(applicationName = 'recipe-app', url = services.databaseUrl): Promise<Session> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const session: Session = {
    client,
    pid,
    running: Promise.resolve('idle'),
    run(sql) {
      session.running = client.query(sql).then(() => 'finished', (error: Error) => error.message);
    },
  };
  sessions.push(session);
  return session;
}

async function waitFor(pid: number, where: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await services.db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND ${where}`, [pid]);
    if (rows.length > 0) return;
    await sleep(25);
  }
  throw new Error(`session ${pid} never matched ${where}`);
}

async function alive(pid: number): Promise<boolean> {
  return (await services.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
}

const roles: string[] = [];

/** Another database user than the bot's, as whom anyone could connect and pick any application_name. */
async function otherRole(): Promise<{ url: string }> {
  const role = `other_user_${Math.random().toString(36).slice(2, 10)}`;
  await services.db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'not-a-secret-2'`);
  roles.push(role);
  const url = new URL(services.databaseUrl);
  url.username = role;
  url.password = 'not-a-secret-2';
  return { url: url.toString() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ctx = () => handlerContext(services, { userId: 'U_ALICE', channelId: 'C_OPS' });

async function plan(line: { pid?: number; olderThan?: string; cancel?: boolean }): Promise<KillPlan> {
  const flags: Record<string, string | true> = {};
  if (line.olderThan) flags['older-than'] = line.olderThan;
  if (line.cancel) flags.cancel = true;
  const args = killHandler.args.parse({ positional: line.pid ? [String(line.pid)] : [], flags, text: '' });
  const result: GatedResult<KillPlan> = await killHandler.run(args, ctx());
  if (result.kind !== 'planned') throw new Error(`nothing planned: ${result.message}`);
  return result.plan;
}

function execute(planned: KillPlan) {
  return killAction.execute(planned, { ...ctx(), requestId: 'apr_test', requester: 'U_ALICE', approver: 'U_BOB' });
}

beforeAll(async () => {
  services = await openTestServices();
});

afterEach(async () => {
  const ended = sessions.splice(0);
  await services.db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [ended.map((s) => s.pid)]);
  await Promise.all(ended.map((s) => s.client.end().catch(() => undefined)));
});

afterAll(async () => {
  for (const role of roles.splice(0)) await services.db.query(`DROP ROLE IF EXISTS ${role}`);
  await services.close();
});

describe('kill executes only what was approved', () => {
  it('terminates a query that is still the one approved', async () => {
    const app = await openSession();
    app.run('SELECT pg_sleep(600)');
    await waitFor(app.pid, `state = 'active'`);
    await sleep(1_100);
    const planned = await plan({ olderThan: '1s' });
    expect(planned.targets).toEqual([expect.objectContaining({ pid: app.pid, reason: 'query' })]);
    const outcome = await execute(planned);
    expect(outcome).toMatchObject({ ok: true, summary: '1 of 1 terminated', lines: [`pid ${app.pid}: terminated`] });
    expect(await app.running).toMatch(/terminat/);
  });

  it('leaves alone a pooled connection whose approved query finished before the approval', async () => {
    const app = await openSession();
    app.run('SELECT pg_sleep(600)');
    await waitFor(app.pid, `state = 'active'`);
    await sleep(1_100);
    const planned = await plan({ olderThan: '1s' });
    // The query ends (here: cancelled by the application itself); the connection goes back to its pool.
    await services.db.query('SELECT pg_cancel_backend($1)', [app.pid]);
    expect(await app.running).toMatch(/cancel/);
    await waitFor(app.pid, `state = 'idle'`);

    const outcome = await execute(planned);
    expect(outcome).toMatchObject({ ok: true, summary: '0 of 1 terminated; 1 not touched', lines: [`pid ${app.pid}: its query already finished, left alone`] });
    expect(await alive(app.pid)).toBe(true);
  });

  it('leaves alone the next query of a reused connection, with and without --cancel', async () => {
    const app = await openSession();
    app.run('SELECT pg_sleep(600)');
    await waitFor(app.pid, `state = 'active'`);
    await sleep(1_100);
    const terminate = await plan({ olderThan: '1s' });
    const cancel = await plan({ olderThan: '1s', cancel: true });
    expect(cancel.mode).toBe('cancel');

    await services.db.query('SELECT pg_cancel_backend($1)', [app.pid]);
    await app.running;
    // The pool hands the connection to someone else, whose query was never shown to the approver.
    app.run(`SELECT pg_sleep(600) /* someone else's report */`);
    await waitFor(app.pid, `state = 'active' AND query LIKE '%someone else%'`);

    for (const approved of [cancel, terminate]) {
      const outcome = await execute(approved);
      expect(outcome.lines).toEqual([`pid ${app.pid}: its query already finished, left alone`]);
    }
    await sleep(200);
    expect(await alive(app.pid)).toBe(true);
    const { rows } = await services.db.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [app.pid]);
    expect(rows[0]?.state).toBe('active');
  });

  it('leaves alone a session whose approved transaction ended, even if it opened another', async () => {
    const app = await openSession();
    await app.client.query('BEGIN');
    await app.client.query('SELECT count(*) FROM recipe_manager.users');
    await sleep(1_100);
    const planned = await plan({ olderThan: '1s' });
    expect(planned.targets).toEqual([expect.objectContaining({ pid: app.pid, reason: 'transaction' })]);

    await app.client.query('COMMIT');
    await app.client.query('BEGIN');
    await app.client.query('SELECT 1');
    await waitFor(app.pid, `state = 'idle in transaction'`);

    const outcome = await execute(planned);
    expect(outcome.lines).toEqual([`pid ${app.pid}: its transaction already finished, left alone`]);
    expect(await alive(app.pid)).toBe(true);
    await app.client.query('ROLLBACK');
  });

  it('ends a session still idle in the approved transaction, rolling it back', async () => {
    const app = await openSession();
    await app.client.query('BEGIN');
    await app.client.query('SELECT count(*) FROM recipe_manager.users');
    await sleep(1_100);
    const planned = await plan({ olderThan: '1s' });
    // The same transaction may run another statement meanwhile: it is still what was approved.
    await app.client.query('SELECT 1');
    const outcome = await execute(planned);
    expect(outcome.lines).toEqual([`pid ${app.pid}: terminated`]);
    await sleep(100);
    expect(await alive(app.pid)).toBe(false);
  });

  it('says --cancel would do nothing to a session that runs no query', async () => {
    const app = await openSession();
    await app.client.query('BEGIN');
    await app.client.query('SELECT 1');
    await waitFor(app.pid, `state = 'idle in transaction'`);
    const args = killHandler.args.parse({ positional: [String(app.pid)], flags: { cancel: true }, text: '' });
    const result = await killHandler.run(args, ctx());
    expect(result).toEqual({ kind: 'nothing', message: expect.stringContaining(`Backend ${app.pid} is not running a query (idle in transaction): --cancel would do nothing`) });
    await app.client.query('ROLLBACK');
  });
});

describe('kill arguments', () => {
  it.each([
    ['0s', '--older-than must be above zero: every running query is older than 0s'],
    ['soon', '--older-than needs a duration like 30s, 10m or 2h'],
  ])('says what is wrong with --older-than %s', (value, message) => {
    const parsed = killHandler.args.safeParse({ positional: [], flags: { 'older-than': value }, text: '' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(message);
  });
});

describe("the bot's own sessions are known by pid, not by name", () => {
  it('lists and kills a session that only calls itself recipedb-ops', async () => {
    const spoof = await openSession('recipedb-ops');
    spoof.run('SELECT pg_sleep(600)');
    await waitFor(spoof.pid, `state = 'active'`);
    await sleep(1_100);

    const active = await activeHandler.run({ olderThanMs: null }, ctx());
    expect(active.queries.map((q) => q.pid)).toContain(spoof.pid);
    const planned = await plan({ olderThan: '1s' });
    expect(planned.targets.map((t) => t.pid)).toContain(spoof.pid);
    const byPid = await plan({ pid: spoof.pid });
    expect(byPid.targets).toEqual([expect.objectContaining({ pid: spoof.pid })]);

    const outcome = await execute(byPid);
    expect(outcome.lines).toEqual([`pid ${spoof.pid}: terminated`]);
    expect(await spoof.running).toMatch(/terminat/);
  });

  it("never lists or targets the bot's own pool connections", async () => {
    const own = await services.db.connect();
    try {
      const pid = (await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // Held in a transaction longer than the limit, as a long backup's snapshot session is.
      await own.query('BEGIN');
      await own.query('SELECT 1');
      await sleep(1_100);

      const active = await activeHandler.run({ olderThanMs: null }, ctx());
      expect(active.queries.map((q) => q.pid)).not.toContain(pid);
      const args = killHandler.args.parse({ positional: [], flags: { 'older-than': '1s' }, text: '' });
      const byAge = await killHandler.run(args, ctx());
      if (byAge.kind === 'planned') expect(byAge.plan.targets.map((t) => t.pid)).not.toContain(pid);
      const byPid = await killHandler.run(killHandler.args.parse({ positional: [String(pid)], flags: {}, text: '' }), ctx());
      expect(byPid).toEqual({ kind: 'nothing', message: `No client backend with pid ${pid} is connected to this database (or it is the bot's own).` });

      // Even a plan naming it (edited, or made before the pool reused the pid) leaves it alone.
      const backendStart = (await services.db.query<{ s: string }>(
        `SELECT to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS s FROM pg_stat_activity WHERE pid = $1`, [pid],
      )).rows[0]!.s;
      const outcome = await execute({ mode: 'terminate', targets: [{ pid, backendStart, reason: 'transaction', since: null }] });
      expect(outcome.lines).toEqual([`pid ${pid}: left alone: it is one of the bot's own sessions`]);
      expect(await alive(pid)).toBe(true);
      await own.query('ROLLBACK');
    } finally {
      own.release();
    }
  });

  it("knows a maintenance session and a tool's session (the restore's psql, by the pid it printed) as the bot's own", async () => {
    const maintenance = await openMaintenanceSession({ url: services.databaseUrl, lockTimeoutMs: 1_000, connectTimeoutMs: 3_000, label: 'run_test' });
    // psql's session stands in for itself: a session the bot did not open through pg, known only by the pid it reports.
    const psql = await openSession('recipedb-ops restore');
    const forget = trackToolSession(services.databaseUrl, psql.pid);
    try {
      const ownMessage = (pid: number) => ({ kind: 'nothing', message: `No client backend with pid ${pid} is connected to this database (or it is the bot's own).` });
      for (const pid of [maintenance.identity.pid, psql.pid]) {
        expect(await killHandler.run(killHandler.args.parse({ positional: [String(pid)], flags: {}, text: '' }), ctx())).toEqual(ownMessage(pid));
      }
      // Once the tool is done, its pid is nobody's: a session that kept it is killable like any other.
      forget();
      expect((await plan({ pid: psql.pid })).targets).toEqual([expect.objectContaining({ pid: psql.pid })]);
    } finally {
      forget();
      await maintenance.close();
    }
  });

  it("knows a running backup's pg_dump as the bot's own; another role's session calling itself that is listed", async () => {
    const backups = await tempBackupDir();
    const other = await otherRole();
    const lock = await lockRecipes(services.databaseUrl);
    const backup = runBackup({ databaseUrl: services.databaseUrl, dir: backups.dir });
    backup.catch(() => undefined);
    try {
      const pgDump = await waitingPgDumpPid(services.databaseUrl);
      await waitUntil(async () => botSessionPids(services.db).includes(pgDump) || undefined, 5_000, "pg_dump's session to be the bot's");
      const spoof = await openSession('recipedb-ops pg_dump x', other.url);
      spoof.run('SELECT pg_sleep(600)');
      await waitFor(spoof.pid, `state = 'active'`);
      await sleep(1_100);

      const targets = (await plan({ olderThan: '1s' })).targets.map((t) => t.pid);
      expect(targets).not.toContain(pgDump);
      expect(targets).toContain(spoof.pid);
      const active = await activeHandler.run({ olderThanMs: null }, ctx());
      expect(active.queries.map((q) => q.pid)).not.toContain(pgDump);
      await lock.release();
      expect(await backup).toMatchObject({ name: expect.stringMatching(/^recipe-database-backup-/) });
      // Once pg_dump has exited, its pid is nobody's.
      expect(botSessionPids(services.db)).not.toContain(pgDump);
    } finally {
      await lock.release();
      await backup.catch(() => undefined);
      await backups.cleanup();
    }
  });

  it("takes for a tool's session only the one of its exact name, of the bot's role, begun after it was named", async () => {
    const other = await otherRole();
    const own = await services.db.connect();
    try {
      const before = await openSession('recipedb-ops pg_dump early');
      const name = await nameToolSession(own, 'recipedb-ops pg_dump');
      // A session named in advance, one of another role that guessed the name, and the tool's own.
      await before.client.query(`SELECT set_config('application_name', $1, false)`, [name.applicationName]);
      const spoof = await openSession(name.applicationName, other.url);
      const tool = await openSession(name.applicationName);
      let exit!: () => void;
      const exited = new Promise<void>((resolve) => (exit = resolve));

      expect(await trackNamedToolSession(own, name, exited)).toBe(tool.pid);
      const pids = botSessionPids(services.db);
      expect(pids).toContain(tool.pid);
      expect(pids).not.toContain(spoof.pid);
      expect(pids).not.toContain(before.pid);
      exit();
      await exited;
      await sleep(0);
      expect(botSessionPids(services.db)).not.toContain(tool.pid);
    } finally {
      own.release();
    }
  });

  it("the restore's kill advice names a lock holder by pid, whatever it calls itself, and never one of the bot's own", () => {
    const holder = (pid: number, application: string) => ({ pid, user: 'app', application, state: 'idle in transaction', stateMs: 60_000, transactionMs: 60_000, query: 'SELECT 1' });
    const spoof = holder(4242, 'recipedb-ops restore');
    expect(killAdvice([spoof], [])).toBe('end it with `/recipedb kill 4242`');
    expect(killAdvice([spoof, holder(77, 'cron')], [4242])).toBe('end it with `/recipedb kill 77`');
    expect(killAdvice([spoof], [4242])).toBe('it should end by itself');
    expect(killAdvice([{ ...spoof, pid: 0 }], [])).toBe('end it with ROLLBACK PREPARED');
  });
});
