import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/ops/postgres/pool.js';
import { STATE_SCHEMA, migrate } from '../../src/state/migrate.js';
import { MIGRATIONS } from '../../src/state/migrations.js';
import { appendAudit } from '../../src/state/audit-log.js';
import { createTestDatabase } from '../support/postgres.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function runMigrateProcess(url: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'test/support/migrate-process.ts'), url], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as number[]);
    });
  });
}

const pools: pg.Pool[] = [];
function statePool(url: string): pg.Pool {
  const pool = createPool({ url, connectMs: 3000, statementMs: 5000, searchPath: STATE_SCHEMA });
  pools.push(pool);
  return pool;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

describe('state migrations', () => {
  it('creates the schema once and is a no-op the second time', async () => {
    const pool = statePool(await createTestDatabase('state'));
    expect(await migrate(pool)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(pool)).toEqual([]);
    const { rows } = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [STATE_SCHEMA],
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'alert_groups', 'app_scale_downs', 'approval_requests', 'audit_log', 'backup_files', 'backup_slots', 'created_users', 'history_samples', 'home_charts', 'incident_events',
      'incidents', 'maintenance_runs', 'pitr_backup_slots', 'replicas', 'schema_migrations', 'verify_databases',
    ]);
  });

  it('applies each migration exactly once when three pools start at once', async () => {
    const url = await createTestDatabase('state');
    const results = await Promise.all([migrate(statePool(url)), migrate(statePool(url)), migrate(statePool(url))]);
    expect(results.flat().sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    const { rows } = await statePool(url).query('SELECT version FROM schema_migrations');
    expect(rows).toHaveLength(MIGRATIONS.length);
  });

  it('applies each migration exactly once when two bot processes start at once', async () => {
    const url = await createTestDatabase('state');
    const runs = await Promise.all([runMigrateProcess(url), runMigrateProcess(url)]);
    expect(runs.flat().sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('keeps the audit log append-only', async () => {
    const pool = statePool(await createTestDatabase('state'));
    await migrate(pool);
    await appendAudit(pool, { actor: 'U1', kind: 'command', action: 'status', summary: '/recipedb status' });
    await expect(pool.query('UPDATE audit_log SET actor = $1', ['U2'])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('allows one open incident per channel', async () => {
    const pool = statePool(await createTestDatabase('state'));
    await migrate(pool);
    const open = `INSERT INTO incidents (channel, title, declared_by, commander) VALUES ($1, $2, 'U1', 'U1')`;
    await pool.query(open, ['C1', 'first']);
    await pool.query(open, ['C2', 'other channel']);
    await expect(pool.query(open, ['C1', 'second'])).rejects.toThrow(/incidents_one_open_per_channel/);
  });
});
