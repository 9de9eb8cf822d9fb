import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { DraftMessage } from '../../src/bot/blocks.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl } from '../../src/ops/postgres/databases.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startTestPostgres } from '../support/postgres.js';
import type { LocalPostgres } from '../../src/dev/local-postgres.js';

describe('status when the operated database goes away', () => {
  let bot: TestBot;
  let server: LocalPostgres;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ pg: server, cleanup } = await startTestPostgres());
    await createDemoDatabase(server.url(), 'recipe_database', { recipes: 50, users: 10 });
    await createDemoDatabase(server.url(), 'recipedb_state', { recipes: 0, users: 1 });
    const url = databaseUrl(server.url(), 'recipe_database').replace('postgres@', 'postgres:Sup3rSecretDbPw@');
    // The state database lives on the same server, so stopping it also proves /readyz.
    bot = await startTestBot({ databaseUrl: url, stateDatabaseUrl: databaseUrl(server.url(), 'recipedb_state') });
  });
  afterAll(async () => {
    await bot.stop();
    await cleanup();
  });

  it('says DOWN within a few seconds, stays healthy, and reports not ready', async () => {
    await bot.client.command('status');
    expect(renderBlocks(await messageOf(bot)).text).toContain('PostgreSQL: up');

    await server.stop();
    bot.slack.reset();
    const started = Date.now();
    await bot.client.command('status');
    const down = await bot.slack.waitFor('chat.postMessage', undefined, 10_000);
    const elapsed = Date.now() - started;
    const text = renderBlocks({ text: String(down.body.text), blocks: down.body.blocks as DraftMessage['blocks'] }).text;
    expect(text).toContain('🔴 DOWN');
    expect(text).toMatch(/PostgreSQL: down — (connection refused|the connection to the database was lost|the database is shutting down)/);
    expect(elapsed).toBeLessThan(8_000);
    expect(text).not.toContain('Sup3rSecretDbPw');
    expect(bot.log.text()).not.toContain('Sup3rSecretDbPw');

    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${bot.baseUrl}/readyz`)).status).toBe(503);
  });
});

async function messageOf(bot: TestBot): Promise<DraftMessage> {
  const call = await bot.slack.waitFor('chat.postMessage');
  return { text: String(call.body.text), blocks: call.body.blocks as DraftMessage['blocks'] };
}
