/**
 * The environment for pg_dump and psql, taken from a connection URL: libpq reads PGHOST, PGPORT,
 * PGUSER, PGPASSWORD and PGDATABASE, so the password never appears on a command line (where
 * `ps` would show it to every user of the machine). Nothing else is passed: not the bot's tokens,
 * not the state database's URL.
 *
 *   spawn(pgDump, args, { env: libpqEnv('postgres://bot:s3cret@db:5432/recipe_database', 'recipedb-ops pg_dump') });
 */

/** URL query parameters libpq also reads from the environment. */
const PARAMETER_VARIABLES: Record<string, string> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslsni: 'PGSSLSNI',
  requiressl: 'PGREQUIRESSL',
  gssencmode: 'PGGSSENCMODE',
  channel_binding: 'PGCHANNELBINDING',
  krbsrvname: 'PGKRBSRVNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  client_encoding: 'PGCLIENTENCODING',
};

/** Parameters that do not change where or how securely the tools connect. */
const HARMLESS_PARAMETERS = new Set(['application_name', 'fallback_application_name', 'keepalives', 'keepalives_idle']);

const DEFAULT_CONNECT_TIMEOUT_SECONDS = '10';

/** All the tools get from the bot's own environment: where programs are, and a home for libpq's files. */
const INHERITED = ['PATH', 'HOME'] as const;

export function libpqEnv(databaseUrl: string, applicationName: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  // Nothing else of the bot's environment: it holds the Slack tokens and both database URLs, and
  // its PG* variables (PGSERVICE, PGPASSFILE…) would silently change where the tools connect.
  // LC_ALL=C keeps their messages in the English we parse.
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED) if (process.env[name] !== undefined) env[name] = process.env[name];
  env.LC_ALL = 'C';
  env.LANG = 'C';
  env.PGAPPNAME = applicationName;
  env.PGCONNECT_TIMEOUT = DEFAULT_CONNECT_TIMEOUT_SECONDS;

  const host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (host) env.PGHOST = host;
  if (url.port) env.PGPORT = url.port;
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;

  for (const [name, value] of url.searchParams) {
    const variable = PARAMETER_VARIABLES[name];
    if (variable !== undefined) env[variable] = value;
    else if (name === 'ssl') {
      // node-postgres' own switch; libpq knows only sslmode.
      if (!url.searchParams.has('sslmode') && /^(true|1|require)$/i.test(value)) env.PGSSLMODE = 'require';
    } else if (!HARMLESS_PARAMETERS.has(name)) {
      throw new Error(`The database URL option "${name}" is not understood by pg_dump and psql: remove it or use one libpq knows (such as sslmode).`);
    }
  }
  return env;
}
