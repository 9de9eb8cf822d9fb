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
 *   const name = await nameToolSession(client, 'recipedb-ops pg_dump'); // a tool that prints no pid (pg_dump):
 *   await trackNamedToolSession(client, name, tool.exited);            // started with name.applicationName, found by it
 *   await pool.query('SELECT … WHERE pid <> ALL($1::int[])', [botSessionPids(pool)]);
 */
import { randomBytes } from 'node:crypto';
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

/** What a tool that prints no pid is started with, and how its session is told from any other. */
export interface ToolSessionName {
  /** The tool's application_name (PGAPPNAME): the prefix and a random suffix, unique to this run. */
  applicationName: string;
  /** The server's clock just before the tool is started, as the server writes it. */
  startedAfter: string;
}

/** Names a tool's session before it starts, through one of the bot's sessions on the same server as the same role. */
export async function nameToolSession(session: pg.ClientBase, prefix: string): Promise<ToolSessionName> {
  const { rows } = await session.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  const now = rows[0]?.now;
  if (now === undefined) throw new Error('the database did not say what time it is');
  return { applicationName: `${prefix} ${randomBytes(6).toString('hex')}`, startedAfter: now };
}

const TOOL_SESSION_POLL_MS = 20;

/**
 * Registers the session of a tool started with `name.applicationName` as one of the bot's until
 * `exited` settles: the session of exactly that name, of this session's role (another database
 * user can call itself anything, but cannot log in as the bot's role), that began after the name
 * was taken. Looked for through `session` until it is found or the tool has exited, so right after
 * the tool connects; the statistics snapshot is cleared before each look, so `session` may be in
 * a transaction. Resolves to the pid, or null when the tool exited first or the look failed (the
 * tool's session is then not the bot's, as it was before this existed).
 */
export async function trackNamedToolSession(session: pg.ClientBase, name: ToolSessionName, exited: Promise<unknown>): Promise<number | null> {
  let done = false;
  void exited.finally(() => {
    done = true;
  });
  const server = serverKey(session as pg.Client);
  while (!done) {
    let pid: number | undefined;
    try {
      await session.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await session.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE application_name = $1 AND usename = current_user AND backend_start > $2::timestamptz
          ORDER BY backend_start LIMIT 1`,
        [name.applicationName, name.startedAfter],
      );
      pid = rows[0]?.pid;
    } catch {
      return null;
    }
    if (pid !== undefined) {
      const token = {};
      register(server, token, pid);
      void exited.finally(() => forget(server, token));
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, TOOL_SESSION_POLL_MS));
  }
  return null;
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
