/**
 * `settings` on a server someone tuned with ALTER SYSTEM and reloaded but never restarted: the
 * answer must say which value is live, where it came from, and what the restart will change.
 * A private cluster, because ALTER SYSTEM changes the whole server.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand } from '../../src/bot/dispatch.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl } from '../../src/ops/postgres/databases.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { startTestPostgres } from '../support/postgres.js';

let services: TestServices;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const started = await startTestPostgres();
  cleanup = started.cleanup;
  await createDemoDatabase(started.pg.url(), 'recipe_database', { recipes: 10, users: 5 });
  const url = databaseUrl(started.pg.url(), 'recipe_database');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query("ALTER SYSTEM SET shared_buffers = '96MB'");
    await admin.query("ALTER SYSTEM SET work_mem = '16MB'");
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
  services = await openTestServices({ databaseUrl: url });
});

afterAll(async () => {
  await services?.close();
  await cleanup?.();
});

it('shows the live value, its source, and the value waiting for a restart', async () => {
  // The reload reaches backends asynchronously; new connections see it at once, old ones soon.
  const deadline = Date.now() + 5_000;
  let seen = '';
  while (Date.now() < deadline) {
    const reply = await dispatchCommand('settings', { userId: 'U_ALICE', channelId: 'C_OPS' }, services);
    seen = renderBlocks(reply.message, { width: 400 }).text;
    if (seen.includes('`16MB`')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen).toMatch(/shared_buffers\s+`128MB` · config\s+:arrows_counterclockwise: restart pending → 96MB/);
  expect(seen).toMatch(/work_mem\s+`16MB` · ALTER SYSTEM/);
  expect(seen).toContain('1 change waits for a restart');
});
