/**
 * Password authentication on a private test cluster (startTestPostgres), where the suite's
 * clusters otherwise trust everyone: the superuser `postgres` is still trusted from 127.0.0.1 (the
 * suite's own connections), every other role must give its password (SCRAM-SHA-256), as the
 * official image's `host all all all scram-sha-256` asks.
 *
 *   const server = await startTestPostgres();
 *   await useScramAuthentication(server.pg);
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withConnection } from '../../src/ops/postgres/databases.js';
import type { LocalPostgres } from '../../src/dev/local-postgres.js';

export async function useScramAuthentication(server: LocalPostgres, extraLines: string[] = []): Promise<void> {
  // Written as root into the postgres account's folder: the file stays readable by the server.
  await writeFile(
    path.join(server.dataDir, 'pg_hba.conf'),
    ['local all postgres trust', 'host all postgres 127.0.0.1/32 trust', ...extraLines, 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
    { mode: 0o644 },
  );
  await withConnection(server.url(), (client) => client.query('SELECT pg_reload_conf()'));
  // The reload is asynchronous: wait until a non-superuser is asked for a password.
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rules = await withConnection(server.url(), (client) => client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_hba_file_rules WHERE auth_method = 'scram-sha-256'`));
    if ((rules.rows[0]?.n ?? 0) > 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
