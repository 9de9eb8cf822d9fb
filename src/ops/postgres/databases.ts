/**
 * Whole databases on a server: one-off connections for work that cannot run in a pool's
 * transaction-friendly sessions (CREATE DATABASE), and URLs of sibling databases.
 *
 *   await ensureDatabase(adminUrl, 'recipedb_ops_state');
 *   const url = databaseUrl(adminUrl, 'recipe_database'); // same server and credentials
 */
import pg from 'pg';
import { quoteIdent } from './quote-ident.js';
import { trackBotSession } from './bot-sessions.js';

/** `url` with its database replaced by `database` (the rest, including credentials, kept). */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Runs `work` on a connection of its own (one of the bot's sessions), always closed afterwards. */
export async function withConnection<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
  options: { connectTimeoutMs?: number; applicationName?: string } = {},
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs, application_name: options.applicationName });
  // A connection lost mid-work surfaces through the next query; it must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await trackBotSession(client);
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function databaseExists(adminUrl: string, databaseName: string): Promise<boolean> {
  return withConnection(adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName]);
    return found.rowCount === 1;
  });
}

/** Creates the database unless it exists (also when a concurrent caller creates it first). */
export async function ensureDatabase(adminUrl: string, databaseName: string): Promise<void> {
  if (await databaseExists(adminUrl, databaseName)) return;
  await withConnection(adminUrl, async (client) => {
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(databaseName)}`);
    } catch (error) {
      if ((error as { code?: string }).code !== '42P04') {
        throw new Error(`Could not create database "${databaseName}": ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  });
}
