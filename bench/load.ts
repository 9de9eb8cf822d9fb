/**
 * A modest, steady background load while a section measures, so the server has something to
 * report: pgbench's TPC-B-like transactions at a fixed rate in a database of their own, plus one
 * session left idle in a transaction on the operated database (the "longest transaction", with a
 * lock held), as an application that forgot to commit would.
 */
import pg from 'pg';
import type { LocalPostgres } from '../src/dev/local-postgres.js';
import { ensureDatabase } from '../src/ops/postgres/databases.js';
import { initPgbench, pgbenchConnection, startPgbench } from './pgbench.js';

const LOAD_DATABASE = 'pgbench_load';
const SCALE = 2;
const CLIENTS = 2;
const RATE_TPS = 25;
/** pgbench stops by itself after this, even if we were never to stop it. */
const MAX_SECONDS = 900;

export interface BackgroundLoad {
  describe: string;
  stop(): Promise<void>;
}

export async function startBackgroundLoad(server: LocalPostgres, binDir: string, operatedUrl: string): Promise<BackgroundLoad> {
  const connection = pgbenchConnection(server);
  await ensureDatabase(server.url(), LOAD_DATABASE);
  await initPgbench(binDir, connection, LOAD_DATABASE, SCALE);
  const pgbench = await startPgbench(
    binDir,
    ['-c', String(CLIENTS), '-j', '1', '-R', String(RATE_TPS), '-T', String(MAX_SECONDS), ...connection, LOAD_DATABASE],
    { settleMs: 500 },
  );

  const idle = new pg.Client({ connectionString: operatedUrl, application_name: 'recipe-app' });
  try {
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query('SELECT count(*) FROM recipe_manager.recipes');
  } catch (error) {
    await pgbench.stop();
    await idle.end().catch(() => undefined);
    throw error;
  }

  return {
    describe: `pgbench -R ${RATE_TPS} tps × ${CLIENTS} clients (scale ${SCALE}, own database) + 1 session idle in transaction`,
    async stop() {
      await idle.query('ROLLBACK').catch(() => undefined);
      await idle.end().catch(() => undefined);
      await pgbench.stop();
    },
  };
}
