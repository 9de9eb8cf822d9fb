/**
 * deploy/'s alert rules, checked by the real tools: `promtool check rules` (Debian's prometheus
 * 2.42) on the plain file and on the PrometheusRule's spec, `promtool test rules` on series that
 * fire and series that must not (test/fixtures/prometheus-rules.test.yml), and every pg_* metric
 * they name read from a running postgres_exporter 0.11.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXPORTER_0_11_METRICS, startExporter, type RunningExporter } from './support/exporter.js';
import { REPO_ROOT, readManifestFile } from './support/manifests.js';
import { createTestDatabase } from './support/postgres.js';

const run = promisify(execFile);
const promtool = (...args: string[]) => run('promtool', args, { cwd: REPO_ROOT });

describe('promtool', () => {
  it('checks the rules file, duplicates included', async () => {
    const { stdout } = await promtool('check', 'rules', '--lint-fatal', 'deploy/prometheus-rules.yml');
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('checks the PrometheusRule\'s rules', async () => {
    const [rule] = readManifestFile('deploy/alerts.yaml');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'recipedb-rules-'));
    try {
      const file = path.join(dir, 'alerts-spec.yml');
      writeFileSync(file, stringify(rule?.spec));
      const { stdout } = await promtool('check', 'rules', '--lint-fatal', file);
      expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes the rules\' unit tests: each fires on its series and stays quiet on the others', async () => {
    const { stdout } = await promtool('test', 'rules', 'test/fixtures/prometheus-rules.test.yml');
    expect(stdout).toContain('SUCCESS');
  }, 60_000);
});

describe('the metrics the rules name', () => {
  let exporter: RunningExporter;
  let scraped: string;

  beforeAll(async () => {
    exporter = await startExporter({ databaseUrl: await createTestDatabase('rules'), settingsMetrics: true });
    scraped = await (await fetch(exporter.url)).text();
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  it('are all exported by postgres_exporter 0.11 with its default collectors', () => {
    const exported = new Set([...scraped.matchAll(/^([a-z_][a-z0-9_]*)[{ ]/gm)].map((m) => m[1]));
    expect(EXPORTER_0_11_METRICS.filter((name) => !exported.has(name))).toEqual([]);
    // The labels the rules group by.
    expect(scraped).toMatch(/^pg_stat_database_blks_hit\{[^}]*datname="[^"]+"[^}]*server="[^"]+"/m);
    expect(scraped).toMatch(/^pg_stat_activity_max_tx_duration\{[^}]*datname="[^"]+"[^}]*server="[^"]+"[^}]*state="idle in transaction"/m);
    expect(scraped).toMatch(/^pg_stat_archiver_failed_count\{server="[^"]+"\}/m);
  });
});
