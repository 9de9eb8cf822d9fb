/**
 * "Sorry, too many clients already" at 3 a.m.: every connection slot a non-superuser may use is
 * taken. The bot (a least-privilege role, as deployed) still answers `status`, `active` and
 * `connections` over its reserved session, and a gated `kill` frees the slots.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl as urlOf } from '../../src/ops/postgres/databases.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { createTestDatabase, startTestPostgres } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';

const MAX_CONNECTIONS = 20;
const BOT_ROLE = 'recipedb_ops';
const APP_ROLE = 'recipe_api';

describe('a saturated database', () => {
  let cluster: Awaited<ReturnType<typeof startTestPostgres>>;
  let bot: TestBot;
  let appUrl: string;
  const fillers: pg.Client[] = [];

  const roleUrl = (role: string, database: string): string => {
    const url = new URL(urlOf(cluster.pg.url(), database));
    url.username = role;
    url.password = '';
    return url.toString();
  };

  /** Opens application sessions until the server refuses one: every slot but the superusers' is taken. */
  async function fillEverySlot(): Promise<pg.DatabaseError> {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const client = new pg.Client({ connectionString: appUrl, application_name: 'recipe-app' });
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (error) {
        return error as pg.DatabaseError;
      }
      fillers.push(client);
    }
    throw new Error('the server never refused a connection');
  }

  beforeAll(async () => {
    cluster = await startTestPostgres({ settings: { max_connections: String(MAX_CONNECTIONS), superuser_reserved_connections: '3' } });
    const admin = cluster.pg.url();
    await createDemoDatabase(admin, 'recipe_database', { recipes: 50, users: 10 });
    const superuser = new pg.Client({ connectionString: admin });
    await superuser.connect();
    // The roles README's installation creates: the bot is no superuser, so it gets no reserved slot.
    await superuser.query(`CREATE ROLE ${BOT_ROLE} LOGIN; GRANT pg_monitor, pg_signal_backend TO ${BOT_ROLE}`);
    await superuser.query(`CREATE ROLE ${APP_ROLE} LOGIN`);
    await superuser.end();
    appUrl = roleUrl(APP_ROLE, 'recipe_database');
    // The state database lives on another server, as in production.
    bot = await startTestBot({
      databaseUrl: roleUrl(BOT_ROLE, 'recipe_database'),
      stateDatabaseUrl: await createTestDatabase('state'),
      env: { APPROVERS: 'U_BOB' },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(fillers.map((c) => c.end().catch(() => undefined)));
    await bot?.stop();
    await cluster?.cleanup();
  });

  it('answers status, active and connections, and a gated kill frees the slots', async () => {
    const refused = await fillEverySlot();
    expect(refused.code).toBe('53300');
    // A few of the sessions are runaway queries, the rest sit idle, as a leaking pool's would.
    for (const client of fillers.slice(0, 3)) void client.query('SELECT pg_sleep(600)').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_200));

    bot.slack.reset();
    await bot.client.command('status');
    const status = textOf(await bot.slack.waitFor('chat.postMessage', undefined, 15_000));
    expect(status).toContain('PostgreSQL: up');
    expect(status).toMatch(new RegExp(`Connections: ${MAX_CONNECTIONS - 3} / ${MAX_CONNECTIONS} on the server`));
    expect(status).toContain("Answered over the bot's reserved session");
    expect(status).toContain('WARN');

    bot.slack.reset();
    await bot.client.command('active');
    const active = textOf(await bot.slack.waitFor('chat.postMessage', undefined, 15_000));
    expect(active.match(/SELECT pg_sleep\(600\)/g)).toHaveLength(3);
    expect(active).toContain("Answered over the bot's reserved session");

    bot.slack.reset();
    await bot.client.command('connections');
    const connections = textOf(await bot.slack.waitFor('chat.postMessage', undefined, 15_000));
    expect(connections).toMatch(new RegExp(`In use: ${MAX_CONNECTIONS - 3} / ${MAX_CONNECTIONS}`));

    bot.slack.reset();
    await bot.client.command('kill --older-than 1s');
    const request = await bot.slack.waitFor('chat.postMessage', undefined, 15_000);
    expect(textOf(request)).toContain('Terminate 3 backends running longer than 1.0s');
    const id = rendered(request).choices.find((c) => c.actionId === 'approval_approve')!.value;
    await bot.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: tsOf(request) });
    const done = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes('Outcome:'), 15_000);
    expect(textOf(done)).toContain('Outcome: 3 of 3 terminated');

    // The slots are free again: the application connects.
    const again = new pg.Client({ connectionString: appUrl });
    await again.connect();
    await again.end();
  }, 90_000);
});
