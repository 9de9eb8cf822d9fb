/**
 * How `queries`, `active`, `connections` and `locks` look, from typed results (what the handlers
 * return: test/handlers/activity-commands.test.ts), asserted on the blocks Slack receives.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/bot/blocks.js';
import { activeView } from '../../../src/bot/views/active-view.js';
import { connectionsView } from '../../../src/bot/views/connections-view.js';
import { locksView } from '../../../src/bot/views/locks-view.js';
import { queriesView } from '../../../src/bot/views/queries-view.js';
import type { ActiveQuery } from '../../../src/ops/postgres/activity.js';
import type { ConnectionUsage } from '../../../src/ops/postgres/connections.js';
import type { LockWait } from '../../../src/ops/postgres/lock-wait.js';
import type { StatementStats } from '../../../src/ops/postgres/statements.js';
import { allMrkdwn, blocksJsonSize, headerOf, mrkdwnOf } from '../../support/blocks.js';

const measuredAt = new Date('2026-12-01T03:00:00Z');

const statement = (over: Partial<StatementStats> = {}): StatementStats => ({
  query: 'SELECT pg_sleep($1)', user: 'postgres', calls: 5, totalMs: 253, meanMs: 50.6, stddevMs: 2.1, rows: 5, ...over,
});

const activeQuery = (over: Partial<ActiveQuery> = {}): ActiveQuery => ({
  pid: 4242, user: 'postgres', application: 'recipe-app', clientAddr: '127.0.0.1', state: 'active', waitEvent: 'Timeout:PgSleep',
  query: 'SELECT pg_sleep(30) /* nightly report */', backendStart: '2026-12-01T02:00:00.123456Z', xactStart: null, queryStart: null,
  durationMs: 12_000, transactionMs: null, ...over,
});

describe('queries view', () => {
  it('shows each statement with its figures and text, and when the statistics began', () => {
    const result = { available: true as const, statements: [statement(), statement({ query: 'SELECT title FROM recipe_manager.recipes WHERE id = $1', calls: 40, totalMs: 4.1, meanMs: 0.1, stddevMs: 0.02, rows: 40 })], statsSince: measuredAt, measuredAt, limit: 5, by: 'total' as const };
    const message = queriesView(result);
    expect(headerOf(message)).toBe('Top queries by total time');
    const texts = mrkdwnOf(message);
    expect(texts[0]).toContain('*1.* total *253ms* · mean 51ms ± 2.1ms · 5 calls · 5 rows · postgres\n```\nSELECT pg_sleep($1)\n```');
    expect(texts[0]).toContain('*2.* total *4.1ms* · mean 0.10ms ± 0.02ms · 40 calls · 40 rows');
    expect(texts).toContain("Top 2 of this database's statements · Statistics since 2026-12-01 03:00:00 UTC");
    expect(texts).toContain('Measured at 2026-12-01 03:00:00 UTC');
    expect(message.text).toBe('Top query by total time: 253ms total, 51ms mean over 5 calls');
  });

  it('names the order asked for', () => {
    const by = (order: 'total' | 'mean' | 'calls') => headerOf(queriesView({ available: true, statements: [statement()], statsSince: null, measuredAt, limit: 10, by: order }));
    expect([by('total'), by('mean'), by('calls')]).toEqual(['Top queries by total time', 'Slowest queries by mean time', 'Most frequent queries']);
  });

  it('says how to enable pg_stat_statements, whichever part is missing', () => {
    const notCreated = allMrkdwn(queriesView({ available: false, missing: 'not-created', measuredAt, limit: 10, by: 'total' }));
    expect(notCreated).toContain('pg_stat_statements is not installed in this database');
    expect(notCreated).toContain("shared_preload_libraries = 'pg_stat_statements'");
    expect(notCreated).toContain('Restart PostgreSQL (a reload is not enough)');
    expect(notCreated).toContain('CREATE EXTENSION pg_stat_statements;');
    expect(notCreated).toContain('Measured at');
    expect(allMrkdwn(queriesView({ available: false, missing: 'not-preloaded', measuredAt, limit: 10, by: 'total' }))).toContain(
      'pg_stat_statements is installed in this database but the server has not loaded it',
    );
  });

  it('fits 50 long statements into one Slack message, escaped', () => {
    const columns = (count: number): string => Array.from({ length: count }, (_, i) => `title AS "a rather long column alias number ${i} with <angle> & ampersand"`).join(', ');
    const statements = Array.from({ length: 50 }, (_, i) => statement({ query: `SELECT ${columns(20 + i)} FROM recipe_manager.recipes WHERE id = $1`, totalMs: 1000 - i }));
    const message = queriesView({ available: true, statements, statsSince: null, measuredAt, limit: 50, by: 'total' });
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(blocksJsonSize(message)).toBeLessThanOrEqual(LIMITS.messageChars);
    const all = allMrkdwn(message);
    expect(all).toContain('*50.* total');
    expect(all).not.toContain('cut to fit');
    expect(all).toContain('&lt;angle&gt; &amp; ampersand');
  });
});

describe('active view', () => {
  it('shows a running query: pid, duration, state, wait, who, and its text', () => {
    const message = activeView({ measuredAt, olderThanMs: null, queries: [activeQuery()], viaReservedSession: false });
    expect(headerOf(message)).toBe('Active queries');
    expect(mrkdwnOf(message)[0]).toBe('*pid 4242* · *12s* · active · waiting on Timeout:PgSleep\npostgres · recipe-app · 127.0.0.1\n```\nSELECT pg_sleep(30) /* nightly report */\n```');
    expect(message.text).toBe('1 query running, longest 12s (pid 4242)');
  });

  it('names the age asked for, and says when nothing runs', () => {
    expect(headerOf(activeView({ measuredAt, olderThanMs: 1_000, queries: [activeQuery()], viaReservedSession: false }))).toBe('Active queries running longer than 1.0s');
    expect(mrkdwnOf(activeView({ measuredAt, olderThanMs: 3_600_000, queries: [], viaReservedSession: false }))).toContain(':large_green_circle: No queries running longer than 1h.');
    const none = mrkdwnOf(activeView({ measuredAt, olderThanMs: null, queries: [], viaReservedSession: false }));
    expect(none).toContain(':large_green_circle: No queries running right now.');
    expect(none).toContain('Measured at 2026-12-01 03:00:00 UTC');
  });

  it('lists the longest 20 and says how many more run', () => {
    const queries = Array.from({ length: 22 }, (_, i) => activeQuery({ pid: 5000 + i, query: `SELECT pg_sleep(30), ${i} AS worker`, durationMs: 30_000 - i }));
    const message = activeView({ measuredAt, olderThanMs: null, queries, viaReservedSession: false });
    expect(message.text).toMatch(/^22 queries running, longest 30s \(pid 5000\)$/);
    const texts = mrkdwnOf(message);
    expect(texts.filter((t) => /^\*pid \d+\*/.test(t))).toHaveLength(20);
    expect(texts).toContain('… and 2 more queries');
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(blocksJsonSize(message)).toBeLessThanOrEqual(LIMITS.messageChars);
  });

  it("says when the answer came over the bot's reserved session", () => {
    expect(allMrkdwn(activeView({ measuredAt, olderThanMs: null, queries: [], viaReservedSession: true }))).toContain("Answered over the bot's reserved session");
  });
});

describe('connections view', () => {
  const usage: ConnectionUsage = {
    database: 'recipe_database', maxConnections: 200, superuserReserved: 3, roleReserved: 0, total: 8, botSessions: 3,
    byState: [{ state: 'idle', count: 4 }, { state: 'idle in transaction', count: 1 }],
    byClient: [{ user: 'postgres', application: 'recipe-app', clientAddr: '127.0.0.1', database: 'recipe_database', count: 4 }, { user: 'etl', application: '', clientAddr: null, database: 'analytics', count: 1 }],
    idleInTransaction: [{ pid: 4242, user: 'postgres', application: 'recipe-app', database: 'recipe_database', state: 'idle in transaction', idleMs: 1_200, query: 'SELECT count(*) FROM recipe_manager.users' }],
    idleInTransactionCount: 1,
  };

  it('shows the slots in use and free, by state and by client, the bot apart, and the longest idle transaction', () => {
    const message = connectionsView({ measuredAt, usage, viaReservedSession: false });
    const texts = mrkdwnOf(message);
    expect(texts).toContain('*In use*\n8 / 200 (4.00%)');
    expect(texts).toContain('*Free*\n192, of which 3 only for superusers');
    expect(texts).toContain('*By state*\nidle 4 · idle in transaction 1');
    expect(texts).toContain(
      "*By client*\n• *4* postgres · recipe-app · 127.0.0.1\n• *1* etl · no application name · local socket · database analytics\n• *3* this bot's own sessions (its pools and reserved session)",
    );
    expect(texts).toContain('*Longest idle in transaction*\n*pid 4242* · idle *1.2s* · postgres · recipe-app\n```\nSELECT count(*) FROM recipe_manager.users\n```');
    expect(message.text).toBe('8 of 200 connections in use; longest idle in transaction: pid 4242, 1.2s');
  });
});

describe('locks view', () => {
  const wait: LockWait = {
    pid: 2, backendStart: '2026-12-01T02:00:00.000001Z', user: 'postgres', application: 'recipe-app', query: 'UPDATE recipe_manager.recipes SET title = title WHERE id = 1',
    waitingMs: 1_500, wantedLock: { mode: 'ShareLock', lockType: 'transactionid', relation: null },
    blockers: [{ pid: 1, user: 'postgres', application: 'recipe-app', state: 'idle in transaction', stateMs: 2_000, transactionMs: 2_000, query: 'UPDATE recipe_manager.recipes SET title = title WHERE id = 1' }],
  };

  it('shows who blocks whom, with both pids and queries', () => {
    const message = locksView({ measuredAt, report: { blocked: [wait], byMode: [{ mode: 'ShareLock', granted: 0, waiting: 1 }, { mode: 'RowExclusiveLock', granted: 2, waiting: 0 }] } });
    const texts = mrkdwnOf(message);
    expect(texts[0]).toMatch(/^:red_circle: \*pid 2\* \(postgres · recipe-app\) waiting \*1\.5s\* for ShareLock on transactionid\n/);
    expect(texts[0]).toContain('blocked by *pid 1* (postgres · recipe-app, idle in transaction, transaction open 2.0s)');
    expect(texts[0]?.match(/UPDATE recipe_manager\.recipes SET title = title WHERE id = 1/g)).toHaveLength(2);
    expect(texts).toContain('*Locks by mode*\nShareLock 0 held, *1 waiting*\nRowExclusiveLock 2 held');
    expect(message.text).toBe('1 blocked query; pid 2 is blocked by pid 1');
  });

  it('says when no query waits', () => {
    expect(mrkdwnOf(locksView({ measuredAt, report: { blocked: [], byMode: [] } }))).toContain(':large_green_circle: No query is waiting for a lock.');
  });
});
