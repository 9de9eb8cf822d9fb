/**
 * The local console's embedded default: when DATABASE_URL / STATE_DATABASE_URL are not set, a
 * private PostgreSQL in `.local/postgres` (git-ignored) holding the demo `recipe_database` and the
 * bot's separate state database.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createDemoDatabase, databaseUrl, demoDatabaseExists } from './ops/demo-database.js';
import { handOverToServerAccount, startLocalPostgres, type LocalPostgres } from './ops/local-postgres.js';
import { quoteIdent } from './ops/postgres/quote-ident.js';
import pg from 'pg';

export const DEMO_DATABASE = 'recipe_database';
export const LOCAL_STATE_DATABASE = 'recipedb_ops_state';

export interface LocalDatabases {
  databaseUrl: string;
  stateDatabaseUrl: string;
  server?: LocalPostgres;
}

export async function ensureLocalDatabases(
  urls: { databaseUrl?: string; stateDatabaseUrl?: string },
  options: { folder: string; say: (line: string) => void },
): Promise<LocalDatabases> {
  if (urls.databaseUrl && urls.stateDatabaseUrl) return { databaseUrl: urls.databaseUrl, stateDatabaseUrl: urls.stateDatabaseUrl };
  await mkdir(options.folder, { recursive: true });
  await handOverToServerAccount(options.folder);
  options.say('Starting the embedded PostgreSQL…');
  const server = await startLocalPostgres({ dataDir: path.join(options.folder, 'data'), log: options.say });
  const admin = server.url();
  if (!urls.databaseUrl && !(await demoDatabaseExists(admin, DEMO_DATABASE))) {
    options.say('Creating the demo recipe database (first start only)…');
    await createDemoDatabase(admin, DEMO_DATABASE);
  }
  if (!urls.stateDatabaseUrl) await ensureDatabase(admin, LOCAL_STATE_DATABASE);
  return {
    databaseUrl: urls.databaseUrl ?? databaseUrl(admin, DEMO_DATABASE),
    stateDatabaseUrl: urls.stateDatabaseUrl ?? databaseUrl(admin, LOCAL_STATE_DATABASE),
    server,
  };
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end();
  }
}
