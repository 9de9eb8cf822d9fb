/** Run as a separate process by the migration test: applies the state migrations to argv[2] and prints what it applied. */
import { createPool } from '../../src/ops/postgres/pool.js';
import { STATE_SCHEMA, migrate } from '../../src/state/migrate.js';

const url = process.argv[2];
if (!url) throw new Error('usage: migrate-process.ts <state database url>');
const pool = createPool({ url, connectMs: 5_000, statementMs: 30_000, searchPath: STATE_SCHEMA });
try {
  process.stdout.write(`${JSON.stringify(await migrate(pool))}\n`);
} finally {
  await pool.end();
}
