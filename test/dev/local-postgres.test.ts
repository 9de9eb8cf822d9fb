import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalPostgres, type LocalPostgres } from '../../src/dev/local-postgres.js';
import { clientBinDir } from '../../src/ops/pg-bin-dir.js';
import { startTestPostgres } from '../support/postgres.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startLocalPostgres', () => {
  const toCleanUp: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of toCleanUp.reverse()) await cleanup();
  });

  it('runs a private cluster that can be stopped and started again on the same data', async () => {
    const { pg: server, cleanup } = await startTestPostgres();
    const restarts: LocalPostgres[] = [];
    toCleanUp.push(async () => {
      for (const restarted of restarts) await restarted.stop();
      await cleanup();
    });

    expect(server.host).toBe('127.0.0.1');
    expect(server.url('recipes')).toBe(`postgres://postgres@127.0.0.1:${server.port}/recipes`);
    const [preload] = await query<{ shared_preload_libraries: string }>(server.url(), 'SHOW shared_preload_libraries');
    expect(preload?.shared_preload_libraries).toContain('pg_stat_statements');
    const [listen] = await query<{ listen_addresses: string }>(server.url(), 'SHOW listen_addresses');
    expect(listen?.listen_addresses).toBe('127.0.0.1');
    await query(server.url(), "CREATE TABLE survivor (note text); INSERT INTO survivor VALUES ('still here')");

    await server.stop();
    await server.stop(); // idempotent
    await expect(query(server.url(), 'SELECT 1')).rejects.toThrow();

    const restarted = await startLocalPostgres({ dataDir: server.dataDir, durable: false });
    restarts.push(restarted);
    const rows = await query<{ note: string }>(restarted.url(), 'SELECT note FROM survivor');
    expect(rows).toEqual([{ note: 'still here' }]);
    await restarted.stop();

    const root = path.dirname(server.dataDir);
    expect(existsSync(root)).toBe(true);
    await cleanup();
    expect(existsSync(root)).toBe(false);
  });

  it('explains a failed start with the end of the server log', async () => {
    const { pg: server, cleanup } = await startTestPostgres();
    toCleanUp.push(cleanup);
    await server.stop();

    // Occupy a port so that the server cannot bind it.
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await expect(startLocalPostgres({ dataDir: server.dataDir, port, durable: false })).rejects.toThrow(
        /did not start on port \d+[\s\S]*Last lines of[\s\S]*could not/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('finds the client tools', () => {
    const dir = clientBinDir();
    expect(dir).toBeDefined();
    expect(existsSync(path.join(dir ?? '', 'pg_dump'))).toBe(true);
  });
});
