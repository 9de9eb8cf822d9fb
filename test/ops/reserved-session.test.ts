/** The reserved session stays open: a session the server ends is re-opened, and registered as the bot's. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { botSessionPids } from '../../src/ops/postgres/bot-sessions.js';
import { RESERVED_APPLICATION_NAME } from '../../src/ops/postgres/reserved-session.js';
import { openTestServices, type TestServices } from '../support/services.js';

let services: TestServices;

beforeAll(async () => {
  services = await openTestServices();
});
afterAll(async () => {
  await services.close();
});

async function reservedPid(): Promise<number | undefined> {
  const { rows } = await services.db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
    [RESERVED_APPLICATION_NAME],
  );
  return rows[0]?.pid;
}

it('re-opens the reserved session when the server ends it', async () => {
  expect(services.reserved.connected).toBe(true);
  const first = await reservedPid();
  expect(first).toBeDefined();
  expect(botSessionPids(services.db)).toContain(first);

  await services.db.query('SELECT pg_terminate_backend($1)', [first]);
  let second: number | undefined;
  for (let i = 0; i < 100 && (second === undefined || second === first); i++) {
    await new Promise((r) => setTimeout(r, 100));
    second = await reservedPid();
  }
  expect(second).toBeDefined();
  expect(second).not.toBe(first);
  expect(services.reserved.connected).toBe(true);
  expect(botSessionPids(services.db)).toContain(second);
  expect(botSessionPids(services.db)).not.toContain(first);
  // It serves work again.
  const answer = await services.reserved.run(async (session) => (await session.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one);
  expect(answer).toBe(1);
});
