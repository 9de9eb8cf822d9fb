/**
 * `settings` on a server someone tuned with ALTER SYSTEM and reloaded but never restarted: the
 * answer must say which value is live, where it came from, and what the restart will change.
 * A private cluster, because ALTER SYSTEM changes the whole server. (How the view shows a pending
 * restart: test/bot/views/storage-views.test.ts.)
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { settingsHandler, type SettingsResult } from '../../src/handlers/settings.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl } from '../../src/ops/postgres/databases.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { runHandler } from '../support/handlers.js';
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

it('says which value is live, its source, and the value waiting for a restart', async () => {
  // The reload reaches backends asynchronously; new connections see it at once, old ones soon.
  const deadline = Date.now() + 5_000;
  let result: SettingsResult | undefined;
  while (Date.now() < deadline) {
    result = await runHandler(settingsHandler, handlerContext(services));
    if (result.checks.find((c) => c.name === 'work_mem')?.value === '16MB') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const byName = new Map(result?.checks.map((c) => [c.name, c]));
  expect(byName.get('shared_buffers')).toMatchObject({ value: '128MB', source: 'config', pendingRestart: true, pendingValue: '96MB' });
  expect(byName.get('work_mem')).toMatchObject({ value: '16MB', source: 'ALTER SYSTEM', pendingRestart: false });
  expect(result?.checks.filter((c) => c.pendingRestart)).toHaveLength(1);
});
