/**
 * `indexes`, `bloat`, `sizes` and `settings` against a real database, with the situations the
 * runbook's weekly and monthly checks look for set up the way they happen: an index nobody uses, a
 * redundant one, a failed concurrent build, a purge that leaves dead tuples, a table that grew.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { CHECKED_SETTINGS, judgeSettings } from '../../src/handlers/settings.js';
import { readSettings } from '../../src/ops/postgres/settings.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { startFakeKube, type FakeContainer } from '../support/fake-kube.js';

const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

let services: TestServices;
let databaseUrl: string;
/** The application's own connection, for setting up situations. */
let app: pg.Client;

async function run(text: string): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, actor, services);
  return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text };
}

/** One titled part of an answer: its title line and the list under it (items and their indented lines). */
function part(seen: string, title: string): string {
  const lines = seen.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^[^\s•…]/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** Statistics reach the views asynchronously: poll with the bot's own pool until they show `ready`. */
async function waitForStats(sql: string, params: unknown[], ready: (row: Record<string, unknown>) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { rows } = await services.db.query<Record<string, unknown>>(sql, params);
    if (rows[0] && ready(rows[0])) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`statistics never matched: ${sql}`);
}

function withinSlackLimits(reply: Reply): void {
  expect(reply.message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  expect(JSON.stringify(reply.message.blocks).length).toBeLessThanOrEqual(LIMITS.messageChars);
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  services = await openTestServices({ databaseUrl });
  app = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
  await app.connect();
});

afterAll(async () => {
  await app?.end();
  await services?.close();
});

describe('indexes', () => {
  beforeAll(async () => {
    // A developer adds a composite index for "a user's recipes by date": the old single-column
    // index on user_id is now redundant.
    await app.query('CREATE INDEX recipes_user_created_idx ON recipe_manager.recipes (user_id, created_at)');
    // An index added for a report that was never shipped.
    await app.query('CREATE INDEX recipes_cuisine_idx ON recipe_manager.recipes (cuisine)');
    // The application looks recipes up by user: the composite index gets scans.
    await app.query('SET enable_seqscan = off');
    await app.query('SET enable_sort = off');
    for (let user = 1; user <= 5; user++) {
      await app.query('SELECT id FROM recipe_manager.recipes WHERE user_id = $1 ORDER BY created_at', [user]);
    }
    await app.query('RESET ALL');
    // A unique index built concurrently over data that is not unique fails half-way and leaves
    // an invalid index behind.
    await app.query('CREATE TABLE recipe_manager.pantry_items (code text NOT NULL)');
    await app.query("INSERT INTO recipe_manager.pantry_items VALUES ('flour'), ('sugar'), ('flour')");
    await expect(app.query('CREATE UNIQUE INDEX CONCURRENTLY pantry_items_code_key ON recipe_manager.pantry_items (code)')).rejects.toMatchObject({
      code: '23505',
    });
    await app.query('SELECT pg_stat_force_next_flush()');
    await waitForStats(
      "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'recipes_user_created_idx'",
      [],
      (row) => Number(row.idx_scan) > 0,
    );
  });

  it('names the unused, the duplicate and the invalid index', async () => {
    const reply = await run('indexes');
    expect(reply.outcome).toBe('ok');
    withinSlackLimits(reply);

    const invalid = part(reply.seen, 'Invalid');
    expect(invalid).toContain('pantry_items_code_key');
    expect(invalid).toContain('on pantry_items');
    // Each one comes with the bot's own command to drop it (concurrently, after approval).
    expect(reply.seen).toContain('/recipedb index drop recipe_manager.pantry_items_code_key');
    expect(reply.seen).toContain('/recipedb index drop recipe_manager.recipes_user_id_idx');

    const duplicates = part(reply.seen, 'Duplicates');
    expect(duplicates).toMatch(/`recipes_user_id_idx` \(16\.0 kB, \d+ scans?\) — covered by `recipes_user_created_idx`/);
    expect(duplicates).not.toMatch(/recipes_created_at_idx|recipes_cuisine_idx|recipes_pkey/);

    const unused = part(reply.seen, 'Unused');
    expect(unused).toContain('recipes_cuisine_idx');
    // Scanned, unique (a constraint) or invalid (listed as such): none of them is "unused".
    expect(unused).not.toMatch(/recipes_user_created_idx|recipes_pkey|users_email_key|pantry_items_code_key/);
    // The duplicate is listed once, as a duplicate.
    expect(unused).not.toContain('recipes_user_id_idx');

    const usage = part(reply.seen, 'Usage');
    expect(usage).toMatch(/`recipes_user_created_idx` [1-9]\d* scans? · /);
    expect(usage).toContain('`users_email_key` 0 scans');
    expect(reply.message.text).toMatch(/unused.*1 duplicate.*1 invalid/);
  });

  it('keeps the older of two identical indexes', async () => {
    await app.query('CREATE INDEX reviews_by_recipe ON recipe_manager.reviews (recipe_id)');
    const reply = await run('indexes --schema recipe_manager');
    expect(part(reply.seen, 'Duplicates')).toContain('`reviews_by_recipe` (32.0 kB, 0 scans) — covered by `reviews_recipe_id_idx`');
    expect(part(reply.seen, 'Duplicates')).not.toMatch(/reviews_recipe_id_idx.*covered by/);
    await app.query('DROP INDEX recipe_manager.reviews_by_recipe');
  });
});

describe('bloat', () => {
  it('shows a purged table as due for vacuum, and no longer after VACUUM', async () => {
    // A staging table the nightly import fills and then mostly purges; its autovacuum was
    // switched off "temporarily" (and keeps the test free of a vacuum racing it).
    await app.query(`
      CREATE TABLE recipe_manager.import_staging (id int PRIMARY KEY, payload text NOT NULL)
        WITH (autovacuum_enabled = false)`);
    await app.query("INSERT INTO recipe_manager.import_staging SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
    await app.query('DELETE FROM recipe_manager.import_staging WHERE id % 10 <> 0');
    await app.query('SELECT pg_stat_force_next_flush()');
    await app.query('ANALYZE recipe_manager.import_staging');
    const deadTuples = "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'import_staging'";
    await waitForStats(deadTuples, [], (row) => Number(row.n_dead_tup) >= 15_000);

    const before = await run('bloat');
    expect(before.outcome).toBe('ok');
    withinSlackLimits(before);
    const due = part(before.seen, 'Due for vacuum');
    expect(due).toContain('`import_staging` 18,000 dead · 2,000 live (90.00%)');
    expect(due).toContain('vacuumed never');
    expect(due).toContain('autovacuum is off for this table');
    // The bot's own commands, not SQL to paste: 90% dead also earns the rewrite that gives the space back.
    expect(before.seen).toContain('/recipedb vacuum recipe_manager.import_staging');
    expect(before.seen).toContain('/recipedb vacuum full recipe_manager.import_staging');
    expect(before.seen).toMatch(/1 of \d+ tables due for vacuum/);
    expect(before.seen).toContain("over the runbook's 1,000 dead tuples");

    await app.query('VACUUM recipe_manager.import_staging');
    await waitForStats(deadTuples, [], (row) => Number(row.n_dead_tup) === 0);

    const after = await run('bloat --schema recipe_manager');
    expect(after.seen).not.toContain('Due for vacuum');
    expect(after.seen).toContain('No table is due for vacuum');
    expect(after.message.text).toBe('Bloat in recipe_manager: no table due for vacuum');
    await app.query('DROP TABLE recipe_manager.import_staging');
  });
});

describe('sizes', () => {
  it('lists a table that grew first, split into table, indexes and TOAST', async () => {
    await app.query(`
      CREATE TABLE recipe_manager.recipe_photos (id int PRIMARY KEY, recipe_id int NOT NULL, caption text NOT NULL, exif text)`);
    await app.query(`
      INSERT INTO recipe_manager.recipe_photos
      SELECT g, 1 + g % 300, repeat('a photo of a dish ', 12),
             CASE WHEN g <= 20 THEN (SELECT string_agg(md5(g::text || s), '') FROM generate_series(1, 200) s) END
        FROM generate_series(1, 50000) g`);
    await app.query('ANALYZE recipe_manager.recipe_photos');

    const reply = await run('sizes');
    expect(reply.outcome).toBe('ok');
    withinSlackLimits(reply);
    const tables = part(reply.seen, 'Largest tables');
    const first = tables.split('\n').slice(1, 3).join('\n');
    expect(first).toMatch(/`recipe_photos` \d+(\.\d)? MB · ~50,000 rows/);
    expect(first).toMatch(/table \d+(\.\d)? MB · indexes \d+(\.\d)? (kB|MB) · toast \d+(\.\d)? kB/);
    // Tables without long values do not mention TOAST.
    expect(part(reply.seen, 'Largest tables')).toMatch(/`users` .*\n\s+table [\d.]+ kB · indexes [\d.]+ kB\n/);
    expect(part(reply.seen, 'Largest indexes')).toContain('recipe_photos_pkey');
    expect(reply.seen).toMatch(/Database:? \d+(\.\d)? MB \(demo_/);
    expect(reply.message.text).toMatch(/largest table recipe_photos/);
  });
});

describe('settings', () => {
  it('shows the memory settings with their values and sources', async () => {
    const reply = await run('settings');
    expect(reply.outcome).toBe('ok');
    withinSlackLimits(reply);
    // initdb writes shared_buffers into postgresql.conf; work_mem is left at its default.
    expect(reply.seen).toMatch(/shared_buffers\s+`?128MB`? · config/);
    expect(reply.seen).toMatch(/work_mem\s+`?4MB`? · default/);
    for (const name of CHECKED_SETTINGS) expect(reply.seen).toContain(name);
    // 128MB next to the default 4GB effective_cache_size is the classic untuned server.
    expect(reply.seen).toMatch(/shared_buffers[\s\S]*small next to effective_cache_size \(4GB\)/);
    expect(reply.seen.replace(/\s+/g, ' ')).toContain('Server memory unknown (Kubernetes is not configured)');
  });

  it('judges memory settings against the database container\'s memory limit, and says when there is none', async () => {
    const settingsWith = async (containers: FakeContainer[]): Promise<string> => {
      const kube = await startFakeKube();
      kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1, containers });
      const withKube = await openTestServices({ databaseUrl: services.databaseUrl, kubeconfig: kube.kubeconfigPath });
      try {
        const reply = await dispatchCommand('settings', { userId: 'U_ALICE', channelId: 'C_OPS' }, withKube);
        expect(kube.forbidden).toEqual([]);
        return renderBlocks(reply.message, { width: 400 }).text.replace(/\s+/g, ' ');
      } finally {
        await withKube.close();
        await kube.close();
      }
    };
    const limited = await settingsWith([{ name: 'recipe-database', limits: { memory: '2Gi' } }, { name: 'exporter', limits: { memory: '64Mi' } }]);
    expect(limited).toContain('Judged against 2.0 GB of server memory: the memory limit of the container recipe-database (2Gi).');
    // 128MB of 2GiB is 6%: below the usual quarter.
    expect(limited).toMatch(/shared_buffers `?128MB`? · config 6% of RAM: about 25% \(512MB\) is the usual start/);

    const unlimited = await settingsWith([{ name: 'recipe-database', requests: { memory: '1Gi' } }]);
    expect(unlimited).toContain('Server memory unknown (the container recipe-database has no memory limit)');
  });

  it('judges memory settings when the server memory is known', async () => {
    const settings = await readSettings(services.db, [...CHECKED_SETTINGS]);
    const checks = judgeSettings(settings, 8 * 1024 ** 3);
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('shared_buffers')).toMatchObject({ verdict: 'review', recommendation: expect.stringContaining('about 25% (2GB)') });
    expect(byName.get('effective_cache_size')).toMatchObject({ verdict: 'ok' });
    expect(byName.get('maintenance_work_mem')).toMatchObject({ verdict: 'review', recommendation: expect.stringContaining('512MB') });
    expect(byName.get('shared_buffers')?.bytes).toBe(128 * 1024 ** 2);
  });
});

describe('--schema', () => {
  it.each(['indexes', 'bloat', 'sizes'])('%s: a bad name is a usage error', async (command) => {
    const reply = await run(`${command} --schema "recipe_manager; DROP TABLE users"`);
    expect(reply.outcome).toBe('usage');
    expect(reply.seen).toContain('--schema takes a schema name');
    expect(reply.seen).toContain(`Usage: \`/recipedb ${command}${command === 'indexes' ? ' [--missing]' : ''} [--schema NAME]\``);

    const missing = await run(`${command} --schema`);
    expect(missing.outcome).toBe('usage');
    expect(missing.seen).toContain('needs a schema name after --schema');
  });

  it.each(['indexes', 'bloat', 'sizes'])('%s: an unknown schema is an empty answer', async (command) => {
    const reply = await run(`${command} --schema no_such_schema`);
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('There is no schema `no_such_schema` in this database.');
    expect(reply.seen).toMatch(/Measured at/);
  });

  it('an empty schema says so', async () => {
    await app.query('CREATE SCHEMA reporting');
    const reply = await run('indexes --schema reporting');
    expect(reply.seen).toContain('No indexes in schema `reporting`.');
    expect((await run('bloat --schema reporting')).seen).toContain('No tables in schema `reporting`.');
  });

  it('settings takes no arguments', async () => {
    const reply = await run('settings --schema x');
    expect(reply.outcome).toBe('usage');
  });
});

describe('a database with many indexes', () => {
  it('lists the first ones and counts the rest, within Slack limits', async () => {
    // Sixty single-column indexes with the longest names PostgreSQL allows, in a schema of their own.
    await app.query('CREATE SCHEMA legacy_reporting_with_a_rather_long_schema_name_for_testing_xx');
    const columns = Array.from({ length: 60 }, (_, i) => `c${i} int`).join(', ');
    await app.query(`CREATE TABLE legacy_reporting_with_a_rather_long_schema_name_for_testing_xx.facts (${columns})`);
    for (let i = 0; i < 60; i++) {
      const index = `facts_${String(i).padStart(2, '0')}_${'x'.repeat(54)}`;
      await app.query(`CREATE INDEX ${index} ON legacy_reporting_with_a_rather_long_schema_name_for_testing_xx.facts (c${i})`);
    }

    for (const command of ['indexes', 'sizes', 'bloat']) {
      const reply = await run(command);
      expect(reply.outcome).toBe('ok');
      withinSlackLimits(reply);
      expect(reply.seen).toMatch(/Measured at/);
    }
    const reply = await run('indexes');
    // Two schemas now: names carry theirs.
    expect(part(reply.seen, 'Unused')).toContain('`legacy_reporting_with_a_rather_long_schema_name_for_testing_xx.facts_00_');
    expect(part(reply.seen, 'Unused')).toMatch(/… and \d+ more/);
    expect(part((await run('sizes')).seen, 'Largest indexes')).toMatch(/… and \d+ more/);
  });
});
