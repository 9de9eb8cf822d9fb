/**
 * `check` on a private cluster whose files this test damages on purpose (research/amcheck.md): a
 * healthy database is clean; an index whose leaf page has two line pointers swapped is reported
 * corrupt with the `reindex` that repairs it, and is clean after that reindex; a table whose
 * tuples predate its freeze horizon is reported by `--heap`; without amcheck, or without the
 * grants, the answer says how to enable it.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl as urlOf } from '../../src/ops/postgres/databases.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { startTestPostgres } from '../support/postgres.js';
import { requestAndApprove } from '../support/approve.js';

let services: TestServices;
let cleanup: () => Promise<void>;
let url: string;
let admin: pg.Client;

async function check(text = 'check', on: TestServices = services): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, { userId: 'U_ALICE', channelId: 'C_OPS' }, on);
  return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text };
}

/** Swaps line pointers 2 and 3 of the index's first leaf page (block 1): "item order invariant violated". */
async function swapLinePointers(index: string): Promise<void> {
  const { rows } = await admin.query<{ file: string }>("SELECT current_setting('data_directory') || '/' || pg_relation_filepath($1) AS file", [index]);
  const file = await open(path.resolve(rows[0]?.file ?? ''), 'r+');
  try {
    const words = Buffer.alloc(8);
    await file.read(words, 0, 8, 8192 + 28);
    const swapped = Buffer.concat([words.subarray(4, 8), words.subarray(0, 4)]);
    await file.write(swapped, 0, 8, 8192 + 28);
    await file.sync();
  } finally {
    await file.close();
  }
}

beforeAll(async () => {
  const started = await startTestPostgres({ settings: { autovacuum: 'off' } });
  cleanup = started.cleanup;
  await createDemoDatabase(started.pg.url(), 'recipe_database', { recipes: 50, users: 10 });
  url = urlOf(started.pg.url(), 'recipe_database');
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  services = await openTestServices({ databaseUrl: url, env: { APPROVERS: 'U_BOB', MAINTENANCE_PROGRESS_INTERVAL: '100ms' } });
});

afterAll(async () => {
  await services?.close();
  await admin?.end();
  await cleanup?.();
});

describe('check', () => {
  it('says how to enable amcheck when it is not installed', async () => {
    const reply = await check();
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('amcheck is not installed in this database');
    expect(reply.seen).toContain('A superuser runs `CREATE EXTENSION amcheck;`');
    expect(reply.seen).toContain('GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean) TO postgres;');
    expect(reply.seen).toContain('Data checksums: off');
  });

  it('reports a healthy database clean', async () => {
    await admin.query('CREATE EXTENSION amcheck');
    const reply = await check('check --heap');
    expect(reply.seen).toMatch(/🟢 Clean · (\d+) of \1 B-tree indexes and (\d+) of \2 tables checked/);
    expect(reply.message.text).toMatch(/^Integrity check: clean \(\d+ indexes and \d+ tables checked\)$/);
  });

  it('finds a corrupt index, names the reindex that repairs it, and is clean after it', async () => {
    await admin.query('CREATE TABLE public.pantry_codes (id int4 NOT NULL, label text)');
    await admin.query("INSERT INTO public.pantry_codes SELECT g, 'code ' || g FROM generate_series(1, 1000) g");
    // Freshly built, so its pages are on disk and not yet in shared buffers.
    await admin.query('CREATE INDEX pantry_codes_id_idx ON public.pantry_codes (id)');
    await swapLinePointers('public.pantry_codes_id_idx');

    const reply = await check();
    expect(reply.seen).toMatch(/❌ Corruption found · \d+ of \d+ B-tree indexes checked/);
    expect(reply.seen).toContain('`public.pantry_codes_id_idx` on public.pantry_codes: item order invariant violated for index "pantry_codes_id_idx"');
    expect(reply.seen).toContain('/recipedb reindex public.pantry_codes_id_idx');
    expect(reply.message.text).toMatch(/^Integrity check: 1 corrupt index/);
    const scoped = await check('check --table recipe_manager.recipes');
    expect(scoped.seen).toContain('Clean');

    const repaired = await requestAndApprove(services, 'reindex public.pantry_codes_id_idx');
    expect(repaired.outcome).toContain('REINDEX INDEX CONCURRENTLY public.pantry_codes_id_idx — ok');
    // Its own index and its TOAST table's.
    expect((await check('check --table pantry_codes')).seen).toMatch(/🟢 Clean · 2 of 2 B-tree indexes checked/);
  });

  it('--heap finds tuples the table should not hold', async () => {
    await admin.query('CREATE TABLE public.old_rows (id int4)');
    await admin.query('INSERT INTO public.old_rows SELECT generate_series(1, 3)');
    await admin.query("UPDATE pg_class SET relfrozenxid = (txid_current() % 4294967296)::text::xid WHERE oid = 'public.old_rows'::regclass");
    const reply = await check('check --heap --table old_rows');
    expect(reply.seen).toContain('Corrupt tables');
    expect(reply.seen).toMatch(/`public\.old_rows` 3 problems\n\s+block 0, item 1: xmin \d+ precedes relation freeze threshold/);
    expect(reply.seen).toContain('restore it from a backup');
    await admin.query('DROP TABLE public.old_rows');
  });

  it('says which grants the bot\'s role lacks, and refuses bad input', async () => {
    await admin.query('CREATE ROLE checker LOGIN');
    const asChecker = new URL(url);
    asChecker.username = 'checker';
    const limited = await openTestServices({ databaseUrl: asChecker.toString() });
    try {
      const reply = await check('check', limited);
      expect(reply.seen).toContain("The bot's database role may not run amcheck's functions: a superuser runs `GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean) TO checker;");
    } finally {
      await limited.close();
    }
    expect((await check('check --table "x;drop"')).outcome).toBe('usage');
    expect((await check('check --table no_such')).seen).toContain('There is no table `no_such`');
    expect((await check('check --deep')).seen).toContain('has no option --deep');
  });
});
