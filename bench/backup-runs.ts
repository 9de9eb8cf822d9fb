/**
 * One timed run of each side of the backup benchmark: the runbook's shell pipelines (a fixed
 * script, everything dynamic passed through the environment), the bot's `/recipedb backup` through
 * Slack, and the bot's restore primitive.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { readSidecar } from '../src/ops/backup/sidecar.js';
import { checkBackupIntegrity } from '../src/ops/backup/integrity.js';
import { restoreBackup } from '../src/ops/backup/restore-backup.js';
import { withConnection } from '../src/ops/postgres/databases.js';
import { quoteIdent } from '../src/ops/postgres/quote-ident.js';
import type { FakeSlack } from '../test/support/fake-slack.js';
import type { BotProcess } from './bot-process.js';
import { spawnGroup } from './process-group.js';
import { withoutLibpqVariables } from './psql-checks.js';

/** The runbook's backup: gzip's default level (-6), as the bot's runBackup uses by default. */
const BASELINE_BACKUP = 'set -o pipefail; "$PG_DUMP" --clean --if-exists -d "$DATABASE_URL" | gzip > "$BACKUP_FILE"';
/** The runbook's restore, with the error stop an operator would add. */
const BASELINE_RESTORE = 'set -o pipefail; zcat -- "$BACKUP_FILE" | "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL"';
const BACKUP_TIMEOUT_MS = 15 * 60_000;

export interface BaselineBackup {
  ms: number;
  fileBytes: number;
}

export async function baselineBackup(binDir: string, databaseUrl: string, file: string): Promise<BaselineBackup> {
  const ms = await runScript('pg_dump | gzip', BASELINE_BACKUP, { PG_DUMP: path.join(binDir, 'pg_dump'), DATABASE_URL: databaseUrl, BACKUP_FILE: file });
  return { ms, fileBytes: (await stat(file)).size };
}

export async function baselineRestore(binDir: string, databaseUrl: string, file: string): Promise<number> {
  return runScript('zcat | psql', BASELINE_RESTORE, { PSQL: path.join(binDir, 'psql'), DATABASE_URL: databaseUrl, BACKUP_FILE: file });
}

/** The bot's restore primitive, in this process: what `restore` runs once approved and the app is stopped. */
export async function botRestore(databaseUrl: string, file: string): Promise<number> {
  // The approved bytes, as the restore's integrity check (its step 1) has them before this runs.
  const { fingerprint } = await checkBackupIntegrity(file);
  const started = performance.now();
  await restoreBackup({ databaseUrl, file, expected: fingerprint });
  return performance.now() - started;
}

export interface BotBackup {
  /** From sending the slash command until the result message names the file. */
  ms: number;
  name: string;
  path: string;
  fileBytes: number;
  dumpBytes: number;
  /** The bot's own phases, from the backup's sidecar. */
  dumpMs: number;
  checkMs: number;
  totalMs: number;
}

export async function botBackup(bot: BotProcess, slack: FakeSlack, dir: string, channel: string): Promise<BotBackup> {
  const sentAt = Date.now();
  const result = slack.waitFor(
    'chat.update',
    (call) => call.at >= sentAt && call.body.channel === channel && /^(Backup \S+ written|`backup` failed)/.test(String(call.body.text ?? '')),
    BACKUP_TIMEOUT_MS,
  );
  result.catch(() => undefined); // awaited below, after the command was sent
  const started = performance.now();
  const sent = await bot.client.command('backup', { channelId: channel });
  if (sent.status !== 200) throw new Error(`the backup command was answered with HTTP ${sent.status}`);
  const text = String((await result).body.text ?? '');
  const ms = performance.now() - started;
  const name = /^Backup (\S+) written/.exec(text)?.[1];
  if (name === undefined) throw new Error(`the bot's backup failed: ${text}\nLast lines of its log:\n${await bot.logTail()}`);

  const file = path.join(dir, name);
  const sidecar = await readSidecar(file);
  if (sidecar?.durations === undefined || sidecar.dumpBytes === undefined) throw new Error(`the backup ${name} has no readable sidecar`);
  return {
    ms,
    name,
    path: file,
    fileBytes: (await stat(file)).size,
    dumpBytes: sidecar.dumpBytes,
    dumpMs: sidecar.durations.dumpMs,
    checkMs: sidecar.durations.checkMs,
    totalMs: sidecar.durations.totalMs,
  };
}

/** Bytes of SQL inside a .sql.gz (also proves the file decompresses to its end). */
export async function gunzippedBytes(file: string): Promise<number> {
  let bytes = 0;
  await pipeline(
    createReadStream(file),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    }),
  );
  return bytes;
}

/** A new empty database under this name (an old one of the same name is dropped first). */
export async function freshDatabase(adminUrl: string, name: string): Promise<void> {
  await dropDatabase(adminUrl, name);
  await withConnection(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withConnection(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export async function rowCount(databaseUrl: string, table: string): Promise<number> {
  return withConnection(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent('recipe_manager')}.${quoteIdent(table)}`);
    return Number(rows[0]?.n);
  });
}

async function runScript(what: string, script: string, vars: Record<string, string>): Promise<number> {
  const started = performance.now();
  const group = spawnGroup('bash', ['-c', script], { env: { ...withoutLibpqVariables(), ...vars, LC_ALL: 'C' } });
  const exit = await group.exited;
  const ms = performance.now() - started;
  if (exit.code !== 0) throw new Error(`${what} failed (exit ${exit.code ?? exit.signal}): ${exit.stderrTail.split('\n').slice(-3).join(' ')}`);
  return ms;
}
