/**
 * `status` reading the real postgres_exporter (Debian's prometheus-postgres-exporter) that watches
 * the operated test database, with a custom queries file defining recipe business metrics, as the
 * runbook's "Metrics Review" does with curl and grep.
 * Asserted on the typed result; how status shows it is test/bot/views/status-view.test.ts.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusHandler, type StatusResult } from '../../src/handlers/status.js';
import { readExporterMetrics, type ExporterMetrics } from '../../src/ops/exporter/exporter-metrics.js';
import { exporterTestsSkipped, startExporter, type RunningExporter } from '../support/exporter.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

const RECIPE_QUERIES = `
recipe_stats:
  query: "SELECT count(*) AS total_recipes FROM recipe_manager.recipes"
  metrics:
    - total_recipes:
        usage: "GAUGE"
        description: "Recipes in the database"
recipe_stats_by_difficulty:
  query: "SELECT difficulty, count(*) AS recipes FROM recipe_manager.recipes GROUP BY difficulty"
  metrics:
    - difficulty:
        usage: "LABEL"
        description: "How hard the recipe is"
    - recipes:
        usage: "GAUGE"
        description: "Recipes of this difficulty"
user_activity:
  query: "SELECT count(*) AS registered_users FROM recipe_manager.users"
  metrics:
    - registered_users:
        usage: "GAUGE"
        description: "Registered users"
`;

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function status(services: TestServices): Promise<StatusResult> {
  return statusHandler.run({}, handlerContext(services));
}

function exporterOf(result: StatusResult): ExporterMetrics {
  if (result.exporter === null) throw new Error('the exporter is not configured');
  if (!result.exporter.ok) throw new Error(`the exporter did not answer: ${result.exporter.reason}`);
  return result.exporter.data;
}

describe.skipIf(exporterTestsSkipped())('status with the real postgres_exporter', () => {
  let databaseUrl: string;
  let databaseName: string;
  let exporter: RunningExporter;
  let services: TestServices;

  beforeAll(async () => {
    databaseUrl = await createDemoTestDatabase();
    databaseName = new URL(databaseUrl).pathname.slice(1);
    exporter = await startExporter({ databaseUrl, queries: RECIPE_QUERIES });
    services = await openTestServices({ databaseUrl, env: { EXPORTER_URL: exporter.url } });
  });
  afterAll(async () => {
    await services?.close();
    await exporter?.stop();
  });

  it('reads pg_up, backends, commits, longest transaction and locks of the operated database', async () => {
    const metrics = await readExporterMetrics({ url: exporter.url, database: databaseName, businessPrefixes: ['recipe_stats_', 'user_activity_'], timeoutMs: 5_000 });
    expect(metrics.up).toBe(true);
    expect(metrics.database).toBe(databaseName);
    expect(metrics.backends).toBeGreaterThanOrEqual(1);
    expect(metrics.commits).toBeGreaterThan(0);
    expect(metrics.longestTransactionSeconds).not.toBeNull();
    expect(metrics.locks?.total).toBeGreaterThanOrEqual(0);
    expect(metrics.exporterVersion).toMatch(/^\d+\.\d+/);
    expect(metrics.scrapeError).toBe(false);
    expect(metrics.customQueriesError).toBe(false);
  });

  it('shows the key exporter metrics and the business metrics of the custom queries in status', async () => {
    const { rows } = await services.db.query<{ recipes: number; users: number; easy: number }>(
      `SELECT (SELECT count(*)::int FROM recipe_manager.recipes) AS recipes,
              (SELECT count(*)::int FROM recipe_manager.users) AS users,
              (SELECT count(*)::int FROM recipe_manager.recipes WHERE difficulty = 'easy') AS easy`,
    );
    const counts = rows[0];
    const result = await status(services);
    expect(result.verdict).not.toBe('DOWN');
    expect(result.postgres.ok).toBe(true);
    const metrics = exporterOf(result);
    expect(metrics).toMatchObject({ up: true, database: databaseName, exporterVersion: expect.stringMatching(/^\d+\.\d+/) });
    expect(metrics.backends).toBeGreaterThanOrEqual(1);
    expect(metrics.commits).toBeGreaterThan(0);
    expect(metrics.longestTransactionSeconds).not.toBeNull();
    // The business metrics of the custom queries, with their labels (the view leaves `server` out).
    const business = new Map(metrics.business.map((b) => [`${b.name}${b.labels.difficulty ? `{${b.labels.difficulty}}` : ''}`, b.value]));
    expect(business.get('recipe_stats_total_recipes')).toBe(counts?.recipes);
    expect(business.get('recipe_stats_by_difficulty_recipes{easy}')).toBe(counts?.easy);
    expect(business.get('user_activity_registered_users')).toBe(counts?.users);
  });

  it('says DOWN when the exporter cannot reach PostgreSQL (pg_up 0)', async () => {
    const blind = await startExporter({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nowhere' });
    const other = await openTestServices({ databaseUrl, env: { EXPORTER_URL: blind.url } });
    try {
      const result = await status(other);
      expect(result.verdict).toBe('DOWN');
      expect(result.reasons[0]).toBe('the exporter reports pg_up = 0 (it cannot reach PostgreSQL)');
      expect(exporterOf(result).up).toBe(false);
      expect(result.postgres.ok).toBe(true);
    } finally {
      await other.close();
      await blind.stop();
    }
  });
});

describe('status when the exporter is missing or slow', () => {
  let services: TestServices | undefined;
  let silent: Server | undefined;
  const hung: ServerResponse[] = [];

  afterAll(async () => {
    await services?.close();
    for (const res of hung) res.destroy();
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  });

  it('leaves the exporter out in one line when EXPORTER_URL is not set', async () => {
    services = await openTestServices();
    expect((await status(services)).exporter).toBeNull();
    await services.close();
    services = undefined;
  });

  it('reduces a refused connection to one line', async () => {
    services = await openTestServices({ env: { EXPORTER_URL: `http://127.0.0.1:${await closedPort()}/metrics` } });
    const result = await status(services);
    expect(result.exporter).toMatchObject({ ok: false, reason: 'the exporter refused the connection (is it running?)' });
    expect(result.verdict).not.toBe('DOWN');
    await services.close();
    services = undefined;
  });

  it('does not wait for an exporter that never answers', async () => {
    silent = createServer((_req, res) => hung.push(res));
    await new Promise<void>((resolve) => silent?.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    services = await openTestServices({ env: { EXPORTER_URL: `http://127.0.0.1:${port}/metrics` } });
    const result = await status(services);
    // Given up at its own deadline (STATUS_SOURCE_TIMEOUT), while PostgreSQL still answered.
    expect(result.exporter).toMatchObject({ ok: false, reason: 'the exporter did not answer within 2.0s' });
    expect(result.postgres.ok).toBe(true);
  });
});
