/**
 * A replica that dies mid-VACUUM FULL must not leave the statement running: PostgreSQL does not
 * notice a vanished client while a statement runs, so an orphaned rewrite would hold its
 * ACCESS EXCLUSIVE lock to the end. The maintenance session asks the server to check the client
 * (client_connection_check_interval); this kills the process holding one and watches the server.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

it('ends the running statement of a maintenance session whose process was killed', async () => {
  const url = await createTestDatabase('orphan');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pools.push(pool);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/maintenance-sleeper.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const identity = await new Promise<{ pid: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] ?? '') as { pid: number });
    });
    child.on('exit', (code) => reject(new Error(`the sleeper exited (${code}) before opening its session`)));
  });
  const running = async () =>
    (await pool.query<{ state: string }>(`SELECT state FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'`, [identity.pid])).rows[0]?.state;
  await expect.poll(running, { timeout: 10_000 }).toBe('active');

  child.kill('SIGKILL');
  // Without the check the statement would run its whole 120 s.
  await expect.poll(running, { timeout: 15_000, interval: 200 }).toBeUndefined();
}, 40_000);
