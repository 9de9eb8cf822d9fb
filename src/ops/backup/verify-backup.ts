/**
 * Proves a backup restores, as the runbook's "Backup Verification" does by hand: the file's
 * integrity against its recorded fingerprint, then a real restore (restore-backup.ts: checked
 * bytes, no meta-commands) into a scratch database on the same server, the row counts of
 * VERIFY_TABLES compared with those recorded at backup time, and the scratch database dropped
 * again whatever happened (and whenever it is stopped). The caller records the outcome; the
 * backup's sidecar, when it has one, is updated for people reading it.
 *
 *   const result = await verifyBackup({ databaseUrl, backup, expected: { fingerprint, rowCounts, rowCountsTaken }, verifyTables });
 *   result.ok // false with result.problems ['recipe_manager.recipes: 299 rows restored, 300 at backup time']
 *
 * A backup that is corrupt or does not restore is an answer (ok: false), not an exception; a
 * server that refuses to create the scratch database is an exception.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createScrubber, urlPassword, type Scrubber } from '../../redact.js';
import { databaseUrl as withDatabase, withConnection } from '../postgres/databases.js';
import { trackBotSession } from '../postgres/bot-sessions.js';
import { quoteIdent } from '../postgres/quote-ident.js';
import { countRows, type RowCounts } from './count-rows.js';
import { BackupIntegrityError, checkBackupIntegrity, type BackupIntegrity } from './integrity.js';
import { restoreBackup, RestoreError } from './restore-backup.js';
import type { Fingerprint } from './fingerprint.js';
import { readSidecar, writeSidecar } from './sidecar.js';
import { errorText } from '../failure.js';

export interface VerifyBackupOptions {
  /** The operated database: the scratch database is created next to it, on the same server. */
  databaseUrl: string;
  backup: { name: string; path: string };
  /** What the state database recorded: the bytes to accept, and the row counts at backup time (null: none recorded). */
  expected: { fingerprint: Fingerprint; rowCounts: RowCounts | null; rowCountsTaken: 'same-snapshot' | 'separately' | null };
  verifyTables: readonly string[];
  /** Stops the restore into the scratch database (a shutdown); the scratch database is dropped all the same. */
  signal?: AbortSignal;
  /** Told of each scratch database before it is created and after it was dropped, so that a crash's leftover can be found. */
  scratch?: { creating(name: string): Promise<void>; dropped(name: string): Promise<void> };
  now?: () => Date;
  connectTimeoutMs?: number;
  /** A short sentence per stage, for long verifications. */
  onProgress?: (stage: string) => unknown;
}

export interface TableCheck {
  table: string;
  /** Rows when the backup was taken; undefined when not recorded (a runbook file), null for a table that did not exist. */
  atBackup: number | null | undefined;
  /** Rows after the restore; null for a missing table. */
  restored: number | null;
  matches: boolean | undefined;
}

export interface BackupVerification {
  name: string;
  ok: boolean;
  problems: string[];
  warnings: string[];
  checks: TableCheck[];
  integrity?: BackupIntegrity;
  scratchDatabase?: string;
  verifiedAt: Date;
  durationMs: number;
  phases: { integrityMs: number; restoreMs?: number; countMs?: number };
}

export const SCRATCH_DATABASE_PREFIX = 'recipedb_verify_';

export async function verifyBackup(options: VerifyBackupOptions): Promise<BackupVerification> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const scrub = createScrubber([urlPassword(options.databaseUrl)].filter((s): s is string => s !== undefined));
  const progress = (stage: string): void => void Promise.resolve().then(() => options.onProgress?.(stage)).catch(() => undefined);
  const problems: string[] = [];
  const warnings: string[] = [];

  progress(`Checking the integrity of ${options.backup.name}…`);
  let integrity: BackupIntegrity | undefined;
  try {
    integrity = await checkBackupIntegrity(options.backup.path, { expectedSha256: options.expected.fingerprint.sha256 });
  } catch (error) {
    if (!(error instanceof BackupIntegrityError)) throw error;
    problems.push(error.message);
  }
  const integrityMs = performance.now() - started;

  let restored: ScratchRestore | undefined;
  if (integrity !== undefined) {
    progress(`Restoring ${options.backup.name} into a scratch database…`);
    restored = await restoreIntoScratch(options, scrub, problems, warnings);
  }

  const counts = restored?.counts;
  const checks = counts === undefined ? [] : compareCounts(options.verifyTables, options.expected, counts, problems, warnings);
  const verification: BackupVerification = {
    name: options.backup.name,
    ok: problems.length === 0,
    problems,
    warnings,
    checks,
    integrity,
    scratchDatabase: restored?.scratchDatabase,
    verifiedAt: now(),
    durationMs: performance.now() - started,
    phases: { integrityMs, restoreMs: restored?.restoreMs, countMs: restored?.countMs },
  };
  await noteInSidecar(options.backup, verification).catch((error: unknown) => {
    warnings.push(`the result could not be written to ${options.backup.name}.json: ${error instanceof Error ? error.message : String(error)}`);
  });
  return verification;
}

interface ScratchRestore {
  scratchDatabase: string;
  /** Undefined when the dump did not restore (the reason is in problems). */
  counts?: RowCounts;
  restoreMs?: number;
  countMs?: number;
}

async function restoreIntoScratch(options: VerifyBackupOptions, scrub: Scrubber, problems: string[], warnings: string[]): Promise<ScratchRestore> {
  const admin = new pg.Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'recipedb-ops verify',
  });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await trackBotSession(admin);
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new Error(`could not connect to the database server to verify the backup: ${scrub(firstLine(error))}`);
  }
  const scratch = `${SCRATCH_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  try {
    const versionNum = Number((await admin.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`)).rows[0]?.num);
    await options.scratch?.creating(scratch);
    try {
      // template0: an empty database, whatever was added to template1 on this server.
      await admin.query(`CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0`);
    } catch (error) {
      if ((error as { code?: string }).code === '42501') {
        throw new Error("the bot's database user may not create databases, which verifying a backup needs (grant it CREATEDB)");
      }
      throw new Error(`could not create the scratch database ${scratch}: ${scrub(firstLine(error))}`);
    }
    try {
      const scratchUrl = withDatabase(options.databaseUrl, scratch);
      const restoreStarted = performance.now();
      try {
        await restoreBackup({
          databaseUrl: scratchUrl,
          file: options.backup.path,
          expected: options.expected.fingerprint,
          connectTimeoutMs: options.connectTimeoutMs,
          signal: options.signal,
        });
      } catch (error) {
        if (options.signal?.aborted) throw new Error('the bot was shutting down and stopped the verification; the scratch database was dropped');
        if (!(error instanceof RestoreError && error.inDump)) throw error;
        problems.push(`it does not restore: ${error.message}`);
        return { scratchDatabase: scratch, restoreMs: performance.now() - restoreStarted };
      }
      const restoreMs = performance.now() - restoreStarted;
      const countStarted = performance.now();
      const counts = await countIn(scratchUrl, options.verifyTables, options.connectTimeoutMs);
      return { counts, scratchDatabase: scratch, restoreMs, countMs: performance.now() - countStarted };
    } finally {
      // FORCE (PostgreSQL 13+) also ends a psql that a cancel left behind.
      const force = versionNum >= 130_000 ? ' WITH (FORCE)' : '';
      await admin
        .query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)}${force}`)
        .then(() => options.scratch?.dropped(scratch))
        .catch((error: unknown) => {
          warnings.push(`the scratch database ${scratch} could not be dropped (${scrub(firstLine(error))}): it is dropped when the bot next starts`);
        });
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function countIn(url: string, tables: readonly string[], connectTimeoutMs = 10_000): Promise<RowCounts> {
  return withConnection(url, (client) => countRows(client, tables), { connectTimeoutMs, applicationName: 'recipedb-ops verify' });
}

function compareCounts(
  tables: readonly string[],
  expected: VerifyBackupOptions['expected'],
  restored: RowCounts,
  problems: string[],
  warnings: string[],
): TableCheck[] {
  const recorded = expected.rowCounts ?? undefined;
  // Counts taken alongside the dump (not in its snapshot) may differ by the writes made meanwhile.
  const exact = expected.rowCountsTaken === 'same-snapshot';
  return tables.map((table) => {
    const atBackup = recorded === undefined ? undefined : recorded[table];
    const after = restored[table] ?? null;
    if (atBackup === undefined) {
      if (after === null) problems.push(`${table} is missing after the restore`);
      return { table, atBackup, restored: after, matches: after === null ? false : undefined };
    }
    const matches = atBackup === after;
    if (!matches) {
      const sentence =
        after === null
          ? `${table} is missing after the restore (it had ${atBackup} rows at backup time)`
          : `${table}: ${after} rows restored, ${atBackup ?? 'no table'} at backup time`;
      (exact ? problems : warnings).push(sentence);
    }
    return { table, atBackup, restored: after, matches };
  });
}

/** The sidecar, when the file has one, says how its last verification went (for people reading it). */
async function noteInSidecar(backup: { name: string; path: string }, verification: BackupVerification): Promise<void> {
  const sidecar = await readSidecar(backup.path);
  if (sidecar === undefined) return;
  const at = verification.verifiedAt.toISOString();
  await writeSidecar(backup.path, {
    ...sidecar,
    verified: verification.ok,
    verifiedAt: verification.ok ? at : null,
    verification: {
      at,
      ok: verification.ok,
      problems: verification.problems,
      restoredCounts: Object.fromEntries(verification.checks.map((c) => [c.table, c.restored])),
      durationMs: Math.round(verification.durationMs),
    },
  });
}

function firstLine(error: unknown): string {
  return errorText(error).split('\n')[0] ?? '';
}
