/**
 * `status`'s figures are the database's: the bot's own sessions and locks are counted apart, the
 * server's connections are judged against max_connections with this database's share beside
 * them, and the longest transaction is always there, "none open" when there is none.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { statusHandler, type StatusResult } from '../../src/handlers/status.js';
import { statusView } from '../../src/bot/views/status-view.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl, ensureDatabase } from '../../src/ops/postgres/databases.js';
import type { Block } from '../../src/bot/blocks.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { createTestDatabase, startTestPostgres } from '../support/postgres.js';

const MAX_CONNECTIONS = 20;

let cluster: Awaited<ReturnType<typeof startTestPostgres>>;
let services: TestServices;
const sessions: pg.Client[] = [];

async function session(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'recipe-app' });
  client.on('error', () => undefined);
  await client.connect();
  sessions.push(client);
  return client;
}

async function status(): Promise<StatusResult & { postgres: { ok: true } }> {
  const result = await statusHandler.run({}, handlerContext(services));
  if (!result.postgres.ok) throw new Error(`PostgreSQL did not answer: ${result.postgres.reason}`);
  return result as StatusResult & { postgres: { ok: true } };
}

function mrkdwnOf(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.type === 'section' ? [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)] : []));
}

beforeAll(async () => {
  cluster = await startTestPostgres({ settings: { max_connections: String(MAX_CONNECTIONS) } });
  await createDemoDatabase(cluster.pg.url(), 'recipe_database', { recipes: 20, users: 5 });
  await ensureDatabase(cluster.pg.url(), 'analytics');
  services = await openTestServices({ databaseUrl: databaseUrl(cluster.pg.url(), 'recipe_database'), stateDatabaseUrl: await createTestDatabase('state') });
}, 60_000);

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((c) => c.end().catch(() => undefined)));
  // Ended sessions leave pg_stat_activity a moment later.
  for (let i = 0; i < 50; i++) {
    const s = (await status()).postgres.data;
    if (s.totalConnections === s.botConnections) return;
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await services?.close();
  await cluster?.cleanup();
});

describe('status', () => {
  it('says "none open" when no transaction is open, and counts none of the bot\'s own sessions or locks', async () => {
    const result = await status();
    const s = result.postgres.data;
    expect(s.longestTransaction).toBeNull();
    // The reserved session, and the pool connection that asked.
    expect(s.botConnections).toBeGreaterThanOrEqual(2);
    expect(s.databaseConnections).toBe(0);
    expect(s.connections).toEqual([]);
    expect(s.locks).toEqual({ granted: 0, waiting: 0 });
    expect(s.botLocks).toBeGreaterThan(0);
    expect(s.totalConnections).toBe(s.botConnections);
    expect(result.verdict).toBe('OK');

    const fields = mrkdwnOf(statusView(result).blocks);
    expect(fields).toContain('*Longest transaction:* none open');
    expect(fields.find((f) => f.startsWith('*Connections*'))).toBe(
      `*Connections*\n${s.totalConnections} / ${MAX_CONNECTIONS} on the server (none) · 0 in recipe_database · the bot's own ${s.botConnections}`,
    );
  });

  it('counts the application\'s sessions and locks, and names its open transaction', async () => {
    const app = await session(services.databaseUrl);
    await app.query('BEGIN');
    await app.query('SELECT count(*) FROM recipe_manager.recipes');
    const s = (await status()).postgres.data;
    expect(s.databaseConnections).toBe(1);
    expect(s.idleInTransaction).toBe(1);
    expect(s.longestTransaction).toMatchObject({ state: 'idle in transaction', query: 'SELECT count(*) FROM recipe_manager.recipes' });
    expect(s.locks.granted).toBeGreaterThan(0);
    await app.query('ROLLBACK');
  });

  it("judges the server's connections against max_connections, also when they are in another database", async () => {
    const before = (await status()).postgres.data;
    // Fill the server to 85 % from another database on it.
    const wanted = Math.ceil(MAX_CONNECTIONS * 0.85) - before.totalConnections;
    for (let i = 0; i < wanted; i++) await session(databaseUrl(cluster.pg.url(), 'analytics'));
    const result = await status();
    const s = result.postgres.data;
    expect(s.totalConnections).toBeGreaterThanOrEqual(Math.ceil(MAX_CONNECTIONS * 0.85));
    expect(s.databaseConnections).toBe(0);
    expect(result.verdict).toBe('WARN');
    expect(result.reasons).toContain(`${s.totalConnections} of ${MAX_CONNECTIONS} connections in use (over 80%)`);
    const fields = mrkdwnOf(statusView(result).blocks);
    expect(fields.find((f) => f.startsWith('*Connections*'))).toContain(`${s.totalConnections} / ${MAX_CONNECTIONS} on the server (idle ${wanted}) · 0 in recipe_database`);
  });
});
