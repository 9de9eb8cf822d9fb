/**
 * `status` reading the real postgres_exporter (Debian's prometheus-postgres-exporter) that watches
 * the operated test database, with a custom queries file defining recipe business metrics, as the
 * runbook's "Metrics Review" does with curl and grep.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { statusView } from '../../src/bot/views/status-view.js';
import { statusHandler } from '../../src/handlers/status.js';
import { readExporterMetrics } from '../../src/ops/exporter/exporter-metrics.js';
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

async function statusText(services: TestServices): Promise<{ text: string; verdict: string; elapsed: number }> {
  const started = Date.now();
  const result = await statusHandler.run({}, handlerContext(services));
  return { text: renderBlocks(statusView(result), { width: 200 }).text, verdict: result.verdict, elapsed: Date.now() - started };
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
    const { text, verdict } = await statusText(services);
    expect(verdict).not.toBe('DOWN');
    expect(text).toMatch(/Exporter: pg_up 1 \(reaches PostgreSQL\) · v\d+\.\d+/);
    expect(text).toMatch(new RegExp(`Backends \\(${databaseName}\\): [1-9]\\d*`));
    expect(text).toMatch(/Commits: [\d,]+/);
    expect(text).toMatch(/Longest transaction: \S+/);
    expect(text).toContain('Business metrics');
    expect(text).toContain(`recipe_stats_total_recipes\` ${counts?.recipes}`);
    expect(text).toContain(`recipe_stats_by_difficulty_recipes{difficulty="easy"}\` ${counts?.easy}`);
    expect(text).toContain(`user_activity_registered_users\` ${counts?.users}`);
    // The exporter's `server` label is noise to an operator.
    expect(text).not.toContain('server=');
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
  });

  it('says DOWN when the exporter cannot reach PostgreSQL (pg_up 0)', async () => {
    const blind = await startExporter({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nowhere' });
    const other = await openTestServices({ databaseUrl, env: { EXPORTER_URL: blind.url } });
    try {
      const { text, verdict } = await statusText(other);
      expect(verdict).toBe('DOWN');
      expect(text).toContain('🔴 DOWN — the exporter reports pg_up = 0 (it cannot reach PostgreSQL)');
      expect(text).toContain('PostgreSQL: up');
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
    const { text } = await statusText(services);
    expect(text).toContain('Exporter: not configured (EXPORTER_URL)');
    await services.close();
    services = undefined;
  });

  it('reduces a refused connection to one line', async () => {
    services = await openTestServices({ env: { EXPORTER_URL: `http://127.0.0.1:${await closedPort()}/metrics` } });
    const { text, verdict } = await statusText(services);
    expect(text).toContain('Exporter: unavailable — the exporter refused the connection (is it running?)');
    expect(verdict).not.toBe('DOWN');
    await services.close();
    services = undefined;
  });

  it('does not wait for an exporter that never answers', async () => {
    silent = createServer((_req, res) => hung.push(res));
    await new Promise<void>((resolve) => silent?.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    services = await openTestServices({ env: { EXPORTER_URL: `http://127.0.0.1:${port}/metrics` } });
    const { text, elapsed } = await statusText(services);
    expect(elapsed).toBeLessThan(4_000);
    expect(text).toContain('Exporter: unavailable — the exporter did not answer within 2.0s');
    expect(text).toContain('PostgreSQL: up');
  });
});
