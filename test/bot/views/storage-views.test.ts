/**
 * How `indexes`, `bloat`, `sizes` and `settings` look, from typed results (what the handlers
 * return: test/handlers/storage-commands.test.ts and settings-pending-restart.test.ts), asserted
 * on the blocks Slack receives.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/bot/blocks.js';
import { bloatView } from '../../../src/bot/views/bloat-view.js';
import { indexesView } from '../../../src/bot/views/indexes-view.js';
import { settingsView } from '../../../src/bot/views/settings-view.js';
import { sizesView } from '../../../src/bot/views/sizes-view.js';
import type { IndexesResult } from '../../../src/handlers/indexes.js';
import type { SettingCheck } from '../../../src/handlers/settings.js';
import type { SizesResult } from '../../../src/handlers/sizes.js';
import type { TableBloat } from '../../../src/ops/postgres/bloat.js';
import { allMrkdwn, blocksJsonSize, headerOf, mrkdwnOf } from '../../support/blocks.js';

const measuredAt = new Date('2026-12-01T03:00:00Z');
const S = 'recipe_manager';
const KIB = 1024;

const indexes = (over: Partial<IndexesResult> = {}): IndexesResult => ({
  kind: 'usage', measuredAt, schema: null, schemaFound: true,
  usage: {
    indexes: [
      { schema: S, table: 'users', index: 'users_email_key', scans: 0, sizeBytes: 16 * KIB, unique: true },
      { schema: S, table: 'recipes', index: 'recipes_user_created_idx', scans: 5, sizeBytes: 16 * KIB, unique: false },
    ],
    total: 2, statsResetAt: null,
  },
  unused: [{ schema: S, table: 'recipes', index: 'recipes_cuisine_idx', sizeBytes: 16 * KIB }],
  duplicates: [{ schema: S, table: 'recipes', index: 'recipes_user_id_idx', sizeBytes: 16 * KIB, scans: 2, definition: '', coveredBy: 'recipes_user_created_idx', coveringDefinition: '' }],
  invalid: [{ schema: S, table: 'pantry_items', index: 'pantry_items_code_key', sizeBytes: 8 * KIB, beingBuilt: false }],
  ...over,
});

describe('indexes view', () => {
  it('names the invalid, the duplicate and the unused index, then the usage of the others', () => {
    const message = indexesView(indexes());
    const texts = mrkdwnOf(message);
    expect(texts.find((t) => t.startsWith('*Invalid*'))).toBe('*Invalid* — queries ignore them, writes still pay for them\n• `pantry_items_code_key` on pantry_items · 8.0 KiB');
    expect(texts).toContain('Usually a failed CREATE INDEX CONCURRENTLY: drop it (below), fix the cause (e.g. duplicate values), create it again with `/recipedb index create`.');
    expect(texts.find((t) => t.startsWith('*Duplicates*'))).toBe('*Duplicates* — a wider index serves the same queries\n• `recipes_user_id_idx` (16.0 KiB, 2 scans) — covered by `recipes_user_created_idx`');
    expect(texts.find((t) => t.startsWith('*Unused*'))).toBe('*Unused* — 0 scans since statistics began\n• `recipes_cuisine_idx` on recipes · 16.0 KiB');
    expect(texts.find((t) => t.startsWith('*Usage*'))).toBe('*Usage* — least used first, besides those above\n• `users_email_key` 0 scans · 16.0 KiB\n• `recipes_user_created_idx` 5 scans · 16.0 KiB');
    expect(message.text).toMatch(/unused.*1 duplicate.*1 invalid/);
    // Each one comes with the bot's own command to drop it (concurrently, after approval): invalid, duplicate, unused.
    expect(texts).toContain(
      '*To drop one* (concurrently, after approval):\n```\n/recipedb index drop recipe_manager.pantry_items_code_key\n/recipedb index drop recipe_manager.recipes_user_id_idx\n/recipedb index drop recipe_manager.recipes_cuisine_idx\n```',
    );
  });

  it('says when a schema does not exist or has no index', () => {
    expect(mrkdwnOf(indexesView(indexes({ schema: 'no_such_schema', schemaFound: false })))).toContain('There is no schema `no_such_schema` in this database.');
    const empty = indexes({ schema: 'reporting', usage: { indexes: [], total: 0, statsResetAt: null }, unused: [], duplicates: [], invalid: [] });
    expect(mrkdwnOf(indexesView(empty))).toContain('No indexes in schema `reporting`.');
  });

  it('names schemas when there are several, and counts what it cannot list, within Slack limits', () => {
    const long = 'legacy_reporting_with_a_rather_long_schema_name_for_testing_xx';
    const unused = Array.from({ length: 60 }, (_, i) => ({ schema: long, table: 'facts', index: `facts_${String(i).padStart(2, '0')}_${'x'.repeat(54)}`, sizeBytes: 8 * KIB }));
    const message = indexesView(indexes({ unused: [...indexes().unused, ...unused] }));
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(blocksJsonSize(message)).toBeLessThanOrEqual(LIMITS.messageChars);
    const unusedPart = mrkdwnOf(message).find((t) => t.startsWith('*Unused*')) ?? '';
    expect(unusedPart).toContain(`\`${long}.facts_00_`);
    expect(unusedPart).toMatch(/… and \d+ more/);
  });
});

const staging: TableBloat = {
  schema: S, table: 'import_staging', liveTuples: 2_000, deadTuples: 18_000, deadRatio: 0.9, lastVacuum: null, lastAutovacuum: null,
  lastAnalyze: measuredAt, lastAutoanalyze: null, vacuumThreshold: 450, dueForVacuum: true, autovacuumEnabled: false,
};

describe('bloat view', () => {
  it('lists the tables due for vacuum, with the bot commands that vacuum them', () => {
    const message = bloatView({ measuredAt, schema: null, schemaFound: true, report: { tables: [staging], total: 9, due: 1, overRunbookLimit: 1 } });
    expect(headerOf(message)).toBe('Dead tuples and vacuum');
    const all = allMrkdwn(message);
    expect(all).toContain(":warning: *1 of 9 tables due for vacuum* · 1 over the runbook's 1,000 dead tuples");
    const due = mrkdwnOf(message).find((t) => t.startsWith('*Due for vacuum*')) ?? '';
    expect(due).toContain('`import_staging` 18,000 dead · 2,000 live (90.00%)');
    expect(due).toContain('vacuumed never');
    expect(due).toContain('autovacuum is off for this table');
    // The bot's own commands, not SQL to paste: 90% dead also earns the rewrite that gives the space back.
    expect(all).toContain('```\n/recipedb vacuum recipe_manager.import_staging\n/recipedb vacuum full recipe_manager.import_staging\n```');
    const halfDead = bloatView({ measuredAt, schema: null, schemaFound: true, report: { tables: [{ ...staging, deadTuples: 400, liveTuples: 2_000, deadRatio: 0.2 }], total: 9, due: 1, overRunbookLimit: 0 } });
    expect(allMrkdwn(halfDead)).toContain('```\n/recipedb vacuum recipe_manager.import_staging\n```');
    expect(message.text).toBe('Bloat: 1 table due for vacuum');
  });

  it('says when no table is due, and when a schema has no tables', () => {
    const clean = bloatView({ measuredAt, schema: S, schemaFound: true, report: { tables: [{ ...staging, deadTuples: 0, deadRatio: 0, dueForVacuum: false, lastVacuum: measuredAt }], total: 9, due: 0, overRunbookLimit: 0 } });
    expect(allMrkdwn(clean)).toContain('No table is due for vacuum');
    expect(allMrkdwn(clean)).not.toContain('Due for vacuum');
    expect(clean.text).toBe('Bloat in recipe_manager: no table due for vacuum');
    expect(mrkdwnOf(bloatView({ measuredAt, schema: 'reporting', schemaFound: true, report: { tables: [], total: 0, due: 0, overRunbookLimit: 0 } }))).toContain('No tables in schema `reporting`.');
  });
});

describe('sizes view', () => {
  const sizes: SizesResult = {
    measuredAt, schema: null, schemaFound: true,
    sizes: {
      database: 'recipe_database', databaseBytes: 30 * 1024 * KIB,
      tables: [
        { schema: S, table: 'recipe_photos', totalBytes: 12 * 1024 * KIB, tableBytes: 10 * 1024 * KIB, indexBytes: 1100 * KIB, toastBytes: 900 * KIB, rowsEstimate: 50_000 },
        { schema: S, table: 'users', totalBytes: 100 * KIB, tableBytes: 60 * KIB, indexBytes: 32 * KIB, toastBytes: 8 * KIB, rowsEstimate: 100 },
      ],
      tableCount: 2, tablesTotalBytes: 12 * 1024 * KIB + 100 * KIB,
      indexes: [{ schema: S, table: 'recipe_photos', index: 'recipe_photos_pkey', sizeBytes: 1100 * KIB }], indexCount: 30,
    },
  };

  it('lists the largest tables split into table, indexes and TOAST, and the largest indexes', () => {
    const message = sizesView(sizes);
    const texts = mrkdwnOf(message);
    expect(texts).toContain('*Database*\n30.0 MiB (recipe_database)');
    expect(texts.find((t) => t.startsWith('*Largest tables*'))).toBe(
      '*Largest tables*\n• `recipe_photos` *12.0 MiB* · ~50,000 rows\n   table 10.0 MiB · indexes 1.1 MiB · toast 900 KiB\n• `users` *100 KiB* · ~100 rows\n   table 60.0 KiB · indexes 32.0 KiB',
    );
    expect(texts.find((t) => t.startsWith('*Largest indexes*'))).toBe('*Largest indexes*\n• `recipe_photos_pkey` 1.1 MiB on recipe_photos\n… and 29 more');
    expect(message.text).toBe('Storage: database 30.0 MiB, largest table recipe_photos 12.0 MiB');
  });

  it('says when a schema does not exist', () => {
    expect(mrkdwnOf(sizesView({ ...sizes, schema: 'nope', schemaFound: false }))).toContain('There is no schema `nope` in this database.');
  });
});

describe('settings view', () => {
  const check = (over: Partial<SettingCheck>): SettingCheck => ({
    name: 'work_mem', value: '4MB', rawValue: '4096', unit: 'kB', bytes: 4 * 1024 * KIB, number: 4096, source: 'default', pendingRestart: false,
    pendingValue: null, defaultValue: '4MB', verdict: 'ok', recommendation: 'fine for most workloads', ...over,
  });

  it('shows each value with its source, what to review, and a change waiting for a restart', () => {
    const message = settingsView({
      measuredAt, memoryBytes: 2 * 1024 ** 3, memorySource: 'the memory limit of the container recipe-database (2Gi)',
      checks: [
        check({ name: 'shared_buffers', value: '128MB', source: 'config', pendingRestart: true, pendingValue: '96MB', verdict: 'review', recommendation: '6% of RAM: about 25% (512MB) is the usual start' }),
        check({ name: 'work_mem', value: '16MB', source: 'ALTER SYSTEM' }),
      ],
    });
    const texts = mrkdwnOf(message);
    expect(texts[0]).toBe(':warning: *1 to review:* shared_buffers\n:arrows_counterclockwise: 1 change waits for a restart');
    expect(texts).toContain(':warning: *shared_buffers*\n`128MB` · config\n:arrows_counterclockwise: restart pending → 96MB\n6% of RAM: about 25% (512MB) is the usual start');
    expect(texts).toContain(':large_green_circle: *work_mem*\n`16MB` · ALTER SYSTEM\nfine for most workloads');
    expect(texts).toContain('Judged against 2.0 GiB of server memory: the memory limit of the container recipe-database (2Gi).');
    expect(message.text).toBe('Server settings: review shared_buffers');
  });

  it('says when the server memory is unknown', () => {
    expect(mrkdwnOf(settingsView({ measuredAt, memoryBytes: null, memorySource: 'Kubernetes is not configured', checks: [check({})] }))).toContain(
      'Server memory unknown (Kubernetes is not configured): memory settings are compared with each other, or the rule of thumb is given.',
    );
  });
});
