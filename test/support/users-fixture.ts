/**
 * The world `user create` and `user rotate-password` work in, for the tests: a private PostgreSQL
 * 15 with password authentication (SCRAM) and `log_statement = all`, the Recipe Database on it,
 * the bot's own role as the README asks for it (CREATEROLE, owning the application schema, not a
 * superuser), the application's role recipe_api; and in the fake Kubernetes API the Secret that
 * holds recipe_api's password and the deployments that read it.
 *
 *   const world = await startUsersWorld();
 *   seedUsersKube(kube, world.apiPassword);
 *   await world.login('recipe_api', password); // true | false
 *   const sampler = sampleCommandLines(); … sampler.stop() // every process's argv seen meanwhile
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl, withConnection } from '../../src/ops/postgres/databases.js';
import type { FakeKube } from './fake-kube.js';
import { startTestPostgres } from './postgres.js';
import { useScramAuthentication } from './scram-hba.js';

export const DB_NS = 'recipe-database';
export const APP_SECRET = 'recipe-database-secret';
export const BOT_ROLE = 'recipedb_ops';

export interface UsersWorld {
  server: Awaited<ReturnType<typeof startTestPostgres>>;
  /** The bot's DATABASE_URL: its own role, with its password. */
  databaseUrl: string;
  /** The superuser, for the test's own looks. */
  adminUrl: string;
  botPassword: string;
  /** recipe_api's password before any rotation (also in the Secret). */
  apiPassword: string;
  login(user: string, password: string): Promise<boolean>;
  /** Runs SQL as `user` with `password`; returns the error code, or null when it worked. */
  tryAs(user: string, password: string, sql: string): Promise<string | null>;
  serverLog(): string;
  close(): Promise<void>;
}

export async function startUsersWorld(): Promise<UsersWorld> {
  const server = await startTestPostgres({
    settings: { log_statement: 'all', log_line_prefix: '%m [%p] ', log_connections: 'on', log_timezone: 'UTC' },
  });
  try {
    await useScramAuthentication(server.pg);
    await createDemoDatabase(server.pg.url(), 'recipe_database', { recipes: 5, users: 3 });
    const adminUrl = databaseUrl(server.pg.url(), 'recipe_database');
    const botPassword = randomBytes(12).toString('hex');
    const apiPassword = randomBytes(12).toString('hex');
    await withConnection(adminUrl, async (c) => {
      // The test's own passwords stay out of the server log, which the tests grep for passwords.
      await c.query(`SET log_statement = 'none'`);
      await c.query(`CREATE ROLE ${BOT_ROLE} LOGIN CREATEROLE PASSWORD '${botPassword}'`);
      await c.query(`GRANT pg_monitor, pg_signal_backend TO ${BOT_ROLE}`);
      await c.query(`GRANT CONNECT ON DATABASE recipe_database TO ${BOT_ROLE} WITH GRANT OPTION`);
      // The README's setup: the bot's role owns the application schema's objects (restores need it).
      await c.query(`ALTER SCHEMA recipe_manager OWNER TO ${BOT_ROLE}`);
      const tables = await c.query<{ name: string }>(`SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = 'recipe_manager'`);
      for (const t of tables.rows) await c.query(`ALTER TABLE ${t.name} OWNER TO ${BOT_ROLE}`);
      await c.query(`CREATE ROLE recipe_api LOGIN PASSWORD '${apiPassword}'`);
      await c.query('GRANT USAGE ON SCHEMA recipe_manager TO recipe_api');
      await c.query('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA recipe_manager TO recipe_api');
    });
    const url = new URL(adminUrl);
    url.username = BOT_ROLE;
    url.password = botPassword;
    const tryAs = async (user: string, password: string, sql: string): Promise<string | null> => {
      const client = new pg.Client({ host: server.pg.host, port: server.pg.port, database: 'recipe_database', user, password });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(sql);
        return null;
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    return {
      server,
      databaseUrl: url.toString(),
      adminUrl,
      botPassword,
      apiPassword,
      tryAs,
      login: async (user, password) => (await tryAs(user, password, 'SELECT 1')) === null,
      serverLog: () => readFileSync(server.pg.logFile, 'utf8'),
      close: () => server.cleanup(),
    };
  } catch (error) {
    await server.cleanup();
    throw error;
  }
}

/**
 * The database (it reads the whole Secret through envFrom, as charts often do), recipe-api next
 * to it reading API_PASSWORD, and the application APP_DEPLOYMENT default/recipe-app.
 */
export function seedUsersKube(kube: FakeKube, apiPassword: string): void {
  kube.addSecret(DB_NS, APP_SECRET, { POSTGRES_PASSWORD: 'the-superuser-password', API_PASSWORD: apiPassword });
  kube.addDeployment({
    namespace: DB_NS,
    name: 'recipe-database',
    replicas: 1,
    containers: [{ name: 'recipe-database', envFrom: [{ secretRef: { name: APP_SECRET } }] }, { name: 'postgres-exporter' }],
  });
  kube.addDeployment({
    namespace: DB_NS,
    name: 'recipe-api',
    replicas: 2,
    containers: [{ name: 'api', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: APP_SECRET, key: 'API_PASSWORD' } } }] }],
  });
  kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
}

/** Every process's command line (`/proc/<pid>/cmdline`), sampled every few milliseconds until stopped. */
export function sampleCommandLines(everyMs = 5): { stop(): string[] } {
  const seen = new Set<string>();
  const sample = (): void => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        seen.add(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
      } catch {
        // The process ended between the listing and the read.
      }
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return [...seen];
    },
  };
}

/** The forms a password could take in a sink: as it is, base64 (Secret data), URL-encoded. */
export function passwordForms(password: string): string[] {
  return [...new Set([password, Buffer.from(password, 'utf8').toString('base64'), encodeURIComponent(password)])];
}

/** Which of the named texts hold any form of any of the passwords. */
export function sinksHolding(sinks: Record<string, string>, passwords: string[]): string[] {
  const forms = passwords.flatMap(passwordForms);
  return Object.entries(sinks)
    .filter(([, text]) => forms.some((form) => text.includes(form)))
    .map(([name]) => name);
}
