/**
 * The bot's own sessions, known by their backend pids: what `kill` never touches and what `active`,
 * `status`, `connections` and `locks` count apart. Not by application_name, which any database
 * user can set to `recipedb-ops…` to make itself unkillable.
 *
 * A pool registers each connection as it opens (createPool's onConnect) and forgets it when the
 * pool removes it; one-off sessions register themselves the same way. The pid is the one the server
 * announces when the session starts (BackendKeyData, what `pg_backend_pid()` returns), so knowing
 * it costs no query, and no statement of the bot's own shows up in pg_stat_statements.
 * Pids are kept per server (host and port): the state database may live on another server, whose
 * pids mean nothing on the operated one.
 *
 *   await trackBotSession(client);                     // a one-off pg.Client, forgotten when it ends
 *   const forget = trackToolSession(url, psqlPid);     // a client tool's session (psql), by the pid it printed
 *   await pool.query('SELECT … WHERE pid <> ALL($1::int[])', [botSessionPids(pool)]);
 */
import pg from 'pg';

/** server ("host:port") → the bot's connected clients (or tools' sessions) on it → their backend pids. */
const sessions = new Map<string, Map<object, number>>();
const poolServers = new WeakMap<pg.Pool, string>();

function serverKey(target: { host?: string | null; port?: number | null }): string {
  return `${target.host ?? ''}:${target.port ?? ''}`;
}

/** Host and port as the driver resolves them (URL, PGHOST, defaults); nothing is connected. */
function serverOfPool(pool: pg.Pool): string {
  let key = poolServers.get(pool);
  if (key === undefined) {
    key = serverKey(new pg.Client(pool.options));
    poolServers.set(pool, key);
  }
  return key;
}

async function backendPid(client: pg.ClientBase): Promise<number> {
  // node-postgres keeps BackendKeyData's pid (for cancel requests) but does not type it.
  const announced = (client as unknown as { processID?: number | null }).processID;
  if (typeof announced === 'number') return announced;
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error('the database did not say which backend serves this session');
  return pid;
}

function register(server: string, client: object, pid: number): void {
  let onServer = sessions.get(server);
  if (onServer === undefined) {
    onServer = new Map();
    sessions.set(server, onServer);
  }
  onServer.set(client, pid);
}

function forget(server: string, client: object): void {
  sessions.get(server)?.delete(client);
}

/** Registers a connected one-off client as one of the bot's sessions until it ends. */
export async function trackBotSession(client: pg.Client): Promise<void> {
  const server = serverKey(client);
  register(server, client, await backendPid(client));
  client.once('end', () => forget(server, client));
}

/**
 * Registers the session a client tool opened on `databaseUrl`'s server (the restore's psql prints
 * its pg_backend_pid() first) as one of the bot's, until the returned function is called.
 */
export function trackToolSession(databaseUrl: string, pid: number): () => void {
  const server = serverKey(new pg.Client({ connectionString: databaseUrl }));
  const token = {};
  register(server, token, pid);
  return () => forget(server, token);
}

/** createPool's onConnect: registers a new pool connection before anyone uses it. */
export async function registerPoolSession(pool: pg.Pool, client: pg.ClientBase): Promise<void> {
  register(serverOfPool(pool), client, await backendPid(client));
}

/** createPool's 'remove' listener. */
export function forgetPoolSession(pool: pg.Pool, client: pg.ClientBase): void {
  forget(serverOfPool(pool), client);
}

/** A pool, or one session of it (or of the reserved connection): what the ops queries run on. */
export type Queryable = pg.Pool | pg.ClientBase;

/** The pids of the bot's sessions on the server `db` talks to, for `pid <> ALL($n::int[])`. */
export function botSessionPids(db: Queryable): number[] {
  const server = db instanceof pg.Pool ? serverOfPool(db) : serverKey(db as pg.Client);
  return [...(sessions.get(server)?.values() ?? [])];
}
