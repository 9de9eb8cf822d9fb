/** `locks` and `queries` through Slack: a signed slash command in, the posted message out. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import type { ResponseUrlPost, SlackCall } from '../support/fake-slack.js';

function textOf(call: SlackCall | ResponseUrlPost): string {
  return renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as Message['blocks'] }, { width: 400 }).text;
}

async function openSession(url: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: 'recipe-app' });
  client.on('error', () => undefined);
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: (rows[0] as { pid: number }).pid };
}

describe('database insight commands over Slack', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot();
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('posts who blocks whom for `locks`', async () => {
    const holder = await openSession(bot.databaseUrl);
    const waiter = await openSession(bot.databaseUrl);
    try {
      await holder.client.query('BEGIN');
      await holder.client.query("UPDATE recipe_manager.recipes SET title = title || '' WHERE id = 1");
      const blocked = waiter.client.query('DELETE FROM recipe_manager.recipes WHERE id = 1').catch(() => undefined);
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        const { rows } = await bot.services.db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [waiter.pid]);
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      bot.slack.reset();
      const sent = await bot.client.command('locks');
      expect(sent.status).toBe(200);
      const posted = await bot.slack.waitFor('chat.postMessage');
      expect(posted.body.channel).toBe('C_OPS');
      expect(posted.body.text).toBe(`1 blocked query; pid ${waiter.pid} is blocked by pid ${holder.pid}`);
      const seen = textOf(posted);
      expect(seen).toMatch(new RegExp(`pid ${waiter.pid} \\(postgres · recipe-app\\) waiting [\\d.]+m?s for ShareLock on transactionid`));
      expect(seen).toContain('DELETE FROM recipe_manager.recipes WHERE id = 1');
      expect(seen).toMatch(new RegExp(`blocked by pid ${holder.pid} \\(postgres · recipe-app, idle in transaction`));
      expect(seen).toContain("UPDATE recipe_manager.recipes SET title = title || '' WHERE id = 1");
      expect(seen).toContain('Measured at');

      // The cleanup is the operator's: the holder gives up, the waiter goes through.
      await holder.client.query('ROLLBACK');
      await blocked;
    } finally {
      await Promise.all([holder.client.end(), waiter.client.end()]);
    }
  });

  it('answers `queries abc` with the usage, only to the user', async () => {
    bot.slack.reset();
    await bot.client.command('queries abc', { responseUrlId: 'queries-abc' });
    const post = await bot.slack.waitForResponsePost((p) => p.id === 'queries-abc');
    expect(post.body.response_type).toBe('ephemeral');
    expect(textOf(post)).toContain('`queries` N must be a whole number between 1 and 50.');
    expect(textOf(post)).toContain('Usage: `/recipedb queries [N] [--by total|mean|calls]`');
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('posts the slowest statements for `queries 3`', async () => {
    const app = await openSession(bot.databaseUrl);
    try {
      // Forget the demo data generation, which would otherwise top the list.
      await app.client.query(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`);
      for (let i = 0; i < 3; i++) await app.client.query('SELECT pg_sleep(0.05), count(*) FROM recipe_manager.users');
    } finally {
      await app.client.end();
    }
    bot.slack.reset();
    await bot.client.command('queries 3');
    const seen = textOf(await bot.slack.waitFor('chat.postMessage'));
    expect(seen).toContain('Top queries by total time');
    expect(seen).toMatch(/^1\. total \d+ms · mean \d+ms ± [\d.]+ms · 3 calls/m);
    expect(seen).toContain('SELECT pg_sleep($1), count(*) FROM recipe_manager.users');
  });
});
