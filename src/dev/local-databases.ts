/**
 * The local console's embedded default: when DATABASE_URL / STATE_DATABASE_URL are not set, a
 * private PostgreSQL in `.local/postgres` (git-ignored) holding the demo `recipe_database` and the
 * bot's separate state database.
 */
import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDemoDatabase, demoDatabaseExists } from './demo-database.js';
import { databaseUrl, ensureDatabase } from '../ops/postgres/databases.js';
import { handOverToServerAccount, startLocalPostgres, type LocalPostgres } from './local-postgres.js';

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
  const folder = await reachableFolder(options.folder, options.say);
  await mkdir(folder, { recursive: true });
  await handOverToServerAccount(folder);
  options.say('Starting the embedded PostgreSQL…');
  const server = await startLocalPostgres({ dataDir: path.join(folder, 'data'), log: options.say });
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


/**
 * As root, the server runs as the `postgres` account, which must be able to walk down to the data
 * folder. A checkout under a closed folder (root's 0700 home) gets a private folder in the system
 * temp dir instead, named after the checkout so each project keeps its own.
 */
async function reachableFolder(folder: string, say: (line: string) => void): Promise<string> {
  if (process.getuid?.() !== 0) return folder;
  for (let dir = path.dirname(path.resolve(folder)); ; dir = path.dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) {
      const fallback = path.join(os.tmpdir(), `recipedb-ops-local-${createHash('sha256').update(folder).digest('hex').slice(0, 10)}`);
      say(`${dir} is closed to the postgres account; keeping the embedded database in ${fallback}.`);
      return fallback;
    }
    if (dir === path.dirname(dir)) return folder;
  }
}
