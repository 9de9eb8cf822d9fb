/**
 * PostgreSQL for the tests: one shared throwaway cluster per run (started by global-setup.ts),
 * fresh databases on it for each test file, and private clusters for tests that stop or break
 * their server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createDemoDatabase, type DemoDatabaseOptions } from '../../src/dev/demo-database.js';
import { databaseUrl, withConnection } from '../../src/ops/postgres/databases.js';
import { handOverToServerAccount, startLocalPostgres, type LocalPostgres } from '../../src/dev/local-postgres.js';
import { quoteIdent } from '../../src/ops/postgres/quote-ident.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testPostgres: { port: number; adminUrl: string };
  }
}

export interface TestPostgres {
  server: LocalPostgres;
  adminUrl: string;
  /** URL of a fresh empty database with pg_stat_statements installed. */
  createDatabase(prefix?: string): Promise<string>;
}

export interface StartTestPostgresOptions {
  settings?: Record<string, string>;
}

/** A private cluster in a temporary folder, fast but not crash-safe; `cleanup` stops it and removes the folder. */
export async function startTestPostgres(
  opts: StartTestPostgresOptions = {},
): Promise<{ pg: LocalPostgres; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'recipedb-test-pg-'));
  const removeRoot = (): Promise<void> => rm(root, { recursive: true, force: true });
  let server: LocalPostgres;
  try {
    // mkdtemp makes a 0700 folder: the server account must be able to enter it.
    await handOverToServerAccount(root);
    server = await startLocalPostgres({ dataDir: path.join(root, 'data'), durable: false, settings: opts.settings });
  } catch (error) {
    await removeRoot();
    throw error;
  }
  return {
    pg: server,
    async cleanup() {
      await server.stop();
      await removeRoot();
    },
  };
}

/** Database helpers over a private cluster from startTestPostgres. */
export function testPostgresOn(server: LocalPostgres): TestPostgres {
  const adminUrl = server.url();
  return { server, adminUrl, createDatabase: (prefix) => createDatabaseOn(adminUrl, prefix) };
}

/** The cluster that global-setup.ts started for the whole run. */
export function sharedTestPostgres(): { port: number; adminUrl: string } {
  const shared = inject('testPostgres');
  if (shared === undefined) {
    throw new Error('The shared test PostgreSQL is missing: run the tests with vitest, whose globalSetup starts it.');
  }
  return shared;
}

/** A fresh empty database on the shared cluster (named `<prefix>_<random>`); returns its URL. */
export function createTestDatabase(prefix = 'test'): Promise<string> {
  return createDatabaseOn(sharedTestPostgres().adminUrl, prefix);
}

/** A fresh database on the shared cluster holding the demo schema with a little data (300 recipes). */
export async function createDemoTestDatabase(opts: DemoDatabaseOptions = {}): Promise<string> {
  const { adminUrl } = sharedTestPostgres();
  const name = uniqueName('demo');
  await createDemoDatabase(adminUrl, name, { recipes: 300, users: 100, ...opts });
  return databaseUrl(adminUrl, name);
}

async function createDatabaseOn(adminUrl: string, prefix = 'test'): Promise<string> {
  const name = uniqueName(prefix);
  await withConnection(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = databaseUrl(adminUrl, name);
  await withConnection(url, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
  return url;
}

function uniqueName(prefix: string): string {
  return `${prefix.toLowerCase()}_${randomBytes(5).toString('hex')}`;
}

