/**
 * `indexes`, `bloat`, `sizes` and `settings` against a real database, with the situations the
 * runbook's weekly and monthly checks look for set up the way they happen: an index nobody uses, a
 * redundant one, a failed concurrent build, a purge that leaves dead tuples, a table that grew.
 * Asserted on the handlers' typed results; how they look is test/bot/views/storage-views.test.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexesHandler, type IndexesResult } from '../../src/handlers/indexes.js';
import { bloatHandler } from '../../src/handlers/bloat.js';
import { sizesHandler } from '../../src/handlers/sizes.js';
import { CHECKED_SETTINGS, judgeSettings, settingsHandler } from '../../src/handlers/settings.js';
import { readSettings } from '../../src/ops/postgres/settings.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { argsProblem, runHandler } from '../support/handlers.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { startFakeKube, type FakeContainer } from '../support/fake-kube.js';

let services: TestServices;
let databaseUrl: string;
/** The application's own connection, for setting up situations. */
let app: pg.Client;

const ctx = () => handlerContext(services);
const schema = (name: string) => ({ flags: { schema: name } });

/** `indexes` without --missing: the usage report. */
async function indexUsage(words: { flags?: Record<string, string | true> } = {}): Promise<IndexesResult> {
  const result = await runHandler(indexesHandler, ctx(), words);
  if (result.kind !== 'usage') throw new Error('expected the index usage report');
  return result;
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
    const result = await indexUsage();
    expect(result).toMatchObject({ schema: null, schemaFound: true });
    expect(result.invalid).toEqual([{ schema: 'recipe_manager', table: 'pantry_items', index: 'pantry_items_code_key', sizeBytes: expect.any(Number), beingBuilt: false }]);

    expect(result.duplicates).toEqual([
      expect.objectContaining({ index: 'recipes_user_id_idx', table: 'recipes', sizeBytes: 16 * 1024, coveredBy: 'recipes_user_created_idx' }),
    ]);

    const unused = result.unused.map((u) => u.index);
    expect(unused).toContain('recipes_cuisine_idx');
    // Scanned, unique (a constraint) or invalid (listed as such): none of them is "unused".
    for (const name of ['recipes_user_created_idx', 'recipes_pkey', 'users_email_key', 'pantry_items_code_key']) expect(unused).not.toContain(name);

    const usage = new Map(result.usage.indexes.map((i) => [i.index, i]));
    expect(usage.get('recipes_user_created_idx')?.scans).toBeGreaterThan(0);
    expect(usage.get('users_email_key')).toMatchObject({ scans: 0, unique: true });
    expect(result.usage.total).toBeGreaterThanOrEqual(result.usage.indexes.length);
  });

  it('keeps the older of two identical indexes', async () => {
    await app.query('CREATE INDEX reviews_by_recipe ON recipe_manager.reviews (recipe_id)');
    const result = await indexUsage(schema('recipe_manager'));
    expect(result.duplicates).toContainEqual(expect.objectContaining({ index: 'reviews_by_recipe', sizeBytes: 32 * 1024, scans: 0, coveredBy: 'reviews_recipe_id_idx' }));
    expect(result.duplicates.some((d) => d.index === 'reviews_recipe_id_idx')).toBe(false);
    await app.query('DROP INDEX recipe_manager.reviews_by_recipe');
  });
});

describe('bloat', () => {
  it('reports a purged table as due for vacuum, and no longer after VACUUM', async () => {
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

    const before = await runHandler(bloatHandler, ctx());
    expect(before.report.due).toBe(1);
    expect(before.report.overRunbookLimit).toBeGreaterThanOrEqual(1);
    expect(before.report.tables[0]).toMatchObject({
      schema: 'recipe_manager', table: 'import_staging', deadTuples: 18_000, liveTuples: 2_000, deadRatio: 0.9,
      lastVacuum: null, lastAutovacuum: null, dueForVacuum: true, autovacuumEnabled: false,
    });

    await app.query('VACUUM recipe_manager.import_staging');
    await waitForStats(deadTuples, [], (row) => Number(row.n_dead_tup) === 0);

    const after = await runHandler(bloatHandler, ctx(), schema('recipe_manager'));
    expect(after).toMatchObject({ schema: 'recipe_manager', schemaFound: true });
    expect(after.report.due).toBe(0);
    expect(after.report.tables.find((t) => t.table === 'import_staging')).toMatchObject({ deadTuples: 0, dueForVacuum: false, lastVacuum: expect.any(Date) });
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

    const { sizes } = await runHandler(sizesHandler, ctx());
    const [first] = sizes.tables;
    expect(first).toMatchObject({ schema: 'recipe_manager', table: 'recipe_photos', rowsEstimate: 50_000 });
    expect(first?.tableBytes).toBeGreaterThan(1024 ** 2);
    expect(first?.toastBytes).toBeGreaterThan(0);
    expect(first?.totalBytes).toBe((first?.tableBytes ?? 0) + (first?.indexBytes ?? 0) + (first?.toastBytes ?? 0));
    // Tables without long values have no TOAST to speak of.
    expect(sizes.tables.find((t) => t.table === 'users')?.toastBytes).toBeLessThanOrEqual(8 * 1024);
    expect(sizes.indexes.map((i) => i.index)).toContain('recipe_photos_pkey');
    expect(sizes.database).toMatch(/^demo_/);
    expect(sizes.databaseBytes).toBeGreaterThan(sizes.tablesTotalBytes);
  });
});

describe('settings', () => {
  it('reads the memory settings with their values and sources', async () => {
    const result = await runHandler(settingsHandler, ctx());
    const byName = new Map(result.checks.map((c) => [c.name, c]));
    // initdb writes shared_buffers into postgresql.conf; work_mem is left at its default.
    expect(byName.get('shared_buffers')).toMatchObject({ value: '128MB', source: 'config' });
    expect(byName.get('work_mem')).toMatchObject({ value: '4MB', source: 'default' });
    expect(result.checks.map((c) => c.name).sort()).toEqual([...CHECKED_SETTINGS].sort());
    // 128MB next to the default 4GB effective_cache_size is the classic untuned server.
    expect(byName.get('shared_buffers')?.recommendation).toContain('small next to effective_cache_size (4GB)');
    expect(result).toMatchObject({ memoryBytes: null, memorySource: 'Kubernetes is not configured' });
  });

  it("judges memory settings against the database container's memory limit, and says when there is none", async () => {
    const settingsWith = async (containers: FakeContainer[]) => {
      const kube = await startFakeKube();
      kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1, containers });
      const withKube = await openTestServices({ databaseUrl: services.databaseUrl, kubeconfig: kube.kubeconfigPath });
      try {
        const result = await runHandler(settingsHandler, handlerContext(withKube));
        expect(kube.forbidden).toEqual([]);
        return result;
      } finally {
        await withKube.close();
        await kube.close();
      }
    };
    const limited = await settingsWith([{ name: 'recipe-database', limits: { memory: '2Gi' } }, { name: 'exporter', limits: { memory: '64Mi' } }]);
    expect(limited).toMatchObject({ memoryBytes: 2 * 1024 ** 3, memorySource: 'the memory limit of the container recipe-database (2Gi)' });
    // 128MB of 2GiB is 6%: below the usual quarter.
    expect(limited.checks.find((c) => c.name === 'shared_buffers')).toMatchObject({ verdict: 'review', recommendation: expect.stringContaining('6% of RAM: about 25% (512MB) is the usual start') });

    const unlimited = await settingsWith([{ name: 'recipe-database', requests: { memory: '1Gi' } }]);
    expect(unlimited).toMatchObject({ memoryBytes: null, memorySource: 'the container recipe-database has no memory limit' });
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
  const handlers = { indexes: indexesHandler, bloat: bloatHandler, sizes: sizesHandler };

  it.each(['indexes', 'bloat', 'sizes'] as const)('%s: a bad name is refused', (command) => {
    expect(argsProblem(handlers[command], schema('recipe_manager; DROP TABLE users'))).toBe('--schema takes a schema name: letters, digits and _, at most 63 characters');
    expect(argsProblem(handlers[command], { flags: { schema: true } })).toBe('needs a schema name after --schema');
  });

  it('an unknown schema is an empty answer', async () => {
    const missing = schema('no_such_schema');
    for (const result of [await runHandler(indexesHandler, ctx(), missing), await runHandler(bloatHandler, ctx(), missing), await runHandler(sizesHandler, ctx(), missing)]) {
      expect(result).toMatchObject({ schema: 'no_such_schema', schemaFound: false });
    }
  });

  it('an empty schema has nothing in it', async () => {
    await app.query('CREATE SCHEMA reporting');
    const indexes = await indexUsage(schema('reporting'));
    expect(indexes).toMatchObject({ schemaFound: true, unused: [], duplicates: [], invalid: [], usage: { total: 0 } });
    expect((await runHandler(bloatHandler, ctx(), schema('reporting'))).report).toMatchObject({ total: 0, tables: [] });
  });

  it('settings takes no arguments', () => {
    expect(argsProblem(settingsHandler, schema('x'))).toBe('takes no options');
  });
});

describe('a database with many indexes', () => {
  it('returns the first ones and counts the rest', async () => {
    // Sixty single-column indexes with the longest names PostgreSQL allows, in a schema of their own.
    await app.query('CREATE SCHEMA legacy_reporting_with_a_rather_long_schema_name_for_testing_xx');
    const columns = Array.from({ length: 60 }, (_, i) => `c${i} int`).join(', ');
    await app.query(`CREATE TABLE legacy_reporting_with_a_rather_long_schema_name_for_testing_xx.facts (${columns})`);
    for (let i = 0; i < 60; i++) {
      const index = `facts_${String(i).padStart(2, '0')}_${'x'.repeat(54)}`;
      await app.query(`CREATE INDEX ${index} ON legacy_reporting_with_a_rather_long_schema_name_for_testing_xx.facts (c${i})`);
    }
    const indexes = await indexUsage();
    expect(indexes.unused.filter((u) => u.schema === 'legacy_reporting_with_a_rather_long_schema_name_for_testing_xx')).toHaveLength(60);
    const { sizes } = await runHandler(sizesHandler, ctx());
    expect(sizes.indexCount).toBeGreaterThan(sizes.indexes.length);
    expect(sizes.indexes.length).toBeLessThanOrEqual(20);
    expect(indexes.usage.total).toBe(indexes.usage.indexes.length);
  });
});
