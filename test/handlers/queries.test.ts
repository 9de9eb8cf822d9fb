/**
 * `queries` ranks by total time by default (PgHero's default): a one-off slow statement (a bulk
 * load, an ANALYZE) tops a mean-time list but costs the server little. `--by mean|calls` as asked,
 * with the standard deviation beside the mean.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queriesHandler, type QueriesResult } from '../../src/handlers/queries.js';
import { queriesView } from '../../src/bot/views/queries-view.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

let services: TestServices;

const ONE_OFF = 'SELECT pg_sleep($1), $2 AS bulk_load';
const FREQUENT = 'SELECT pg_sleep($1)';

async function queries(flags: Record<string, string> = {}, positional: string[] = []): Promise<Extract<QueriesResult, { available: true }>> {
  const args = queriesHandler.args.parse({ positional, flags, text: '' });
  const result = await queriesHandler.run(args, handlerContext(services));
  if (!result.available) throw new Error('pg_stat_statements is not available');
  return result;
}

beforeAll(async () => {
  services = await openTestServices();
  const app = new pg.Client({ connectionString: services.databaseUrl });
  await app.connect();
  await app.query(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`);
  await app.query(`SELECT pg_sleep(0.25), 'x' AS bulk_load`);
  for (let i = 0; i < 40; i++) await app.query(`SELECT pg_sleep(${i % 2 === 0 ? 0.005 : 0.015})`);
  await app.end();
});
afterAll(async () => {
  await services.close();
});

describe('queries', () => {
  it('ranks by total time by default', async () => {
    const result = await queries();
    expect(result.by).toBe('total');
    const [first, second] = result.statements;
    expect(first).toMatchObject({ query: FREQUENT, calls: 40 });
    expect(second).toMatchObject({ query: ONE_OFF, calls: 1 });
    // 40 sleeps of 5 and 15 ms: a mean of about 10 ms, spread about 5 ms.
    expect(first!.stddevMs).toBeGreaterThan(3);
    expect(first!.stddevMs).toBeLessThan(first!.meanMs);
    const blocks = JSON.stringify(queriesView(result).blocks);
    expect(blocks).toContain('Top queries by total time');
    expect(blocks).toMatch(/mean \d+(\.\d)?ms ± \d+(\.\d)?ms/);
  });

  it('ranks by mean time or by calls when asked', async () => {
    expect((await queries({ by: 'mean' })).statements[0]).toMatchObject({ query: ONE_OFF });
    expect((await queries({ by: 'calls' })).statements[0]).toMatchObject({ query: FREQUENT });
    expect(JSON.stringify(queriesView(await queries({ by: 'mean' })).blocks)).toContain('Slowest queries by mean time');
  });

  it('refuses an unknown order', () => {
    const parsed = queriesHandler.args.safeParse({ positional: [], flags: { by: 'rows' }, text: '' });
    expect(parsed.error?.issues[0]?.message).toBe('--by takes total, mean or calls');
  });
});
