/**
 * `backup verify` as the bot runs it: only a backup the bot trusts (written by it or imported),
 * one verification at a time across replicas (each restores a whole backup on the production
 * server), stopped when the bot shuts down, its scratch database noted in the state database
 * while it exists, and its outcome recorded there. Scratch databases a crash left behind are
 * dropped before each verification and when the bot starts (sweepScratchDatabases).
 *
 *   const verification = await verifyNow(ctx, trusted, { requestedBy: 'U_ALICE', onProgress });
 *   await sweepScratchDatabases(services); // src/jobs/start-jobs.ts
 */
import type { Services } from '../context.js';
import type { BackupRecord } from '../ops/backup/backup-record.js';
import type { StoredBackup } from '../ops/backup/list-backups.js';
import { SCRATCH_DATABASE_PREFIX, verifyBackup, type BackupVerification } from '../ops/backup/verify-backup.js';
import { tryVerifyLock, verifyLockHolder } from '../ops/backup/verify-lock.js';
import { withConnection } from '../ops/postgres/databases.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import { recordVerification } from '../state/backup-records.js';
import { forgetScratchDatabase, noteScratchDatabase, scratchDatabases } from '../state/verify-databases.js';
import { Refusal } from './refusal.js';

const SCRATCH_NAME = new RegExp(`^${SCRATCH_DATABASE_PREFIX}[0-9a-f]{12}$`);

export async function verifyNow(
  services: Services,
  backup: StoredBackup & { record: BackupRecord },
  options: { requestedBy: string; onProgress?: (stage: string) => unknown },
): Promise<BackupVerification> {
  const lock = await tryVerifyLock(services.state, { requestedBy: options.requestedBy });
  if (!lock) {
    const by = await verifyLockHolder(services.state).catch(() => undefined);
    throw new Refusal(
      `Another backup verification is running${by ? ` (started by ${by})` : ''}: one runs at a time, since each restores a whole backup on the database server. Try again when it is done.`,
    );
  }
  try {
    await dropLeftovers(services);
    const { record } = backup;
    const verification = await verifyBackup({
      databaseUrl: services.databaseUrl,
      backup,
      expected: { fingerprint: record.fingerprint, rowCounts: record.rowCounts, rowCountsTaken: record.rowCountsTaken },
      verifyTables: services.config.verifyTables,
      now: services.now,
      connectTimeoutMs: services.config.timeouts.connectMs,
      signal: services.lifecycle.stopSignal,
      onProgress: options.onProgress,
      scratch: {
        creating: (name) => noteScratchDatabase(services.state, name, services.instance),
        dropped: (name) => forgetScratchDatabase(services.state, name),
      },
    });
    await recordVerification(services.state, backup.name, record.fingerprint.sha256, {
      at: verification.verifiedAt.toISOString(),
      ok: verification.ok,
      problems: verification.problems,
      restoredCounts: Object.fromEntries(verification.checks.map((c) => [c.table, c.restored])),
      durationMs: Math.round(verification.durationMs),
    });
    return verification;
  } finally {
    await lock.release();
  }
}

/** At start: the scratch databases a crashed verification left behind, unless one runs right now elsewhere. */
export async function sweepScratchDatabases(services: Services): Promise<string[]> {
  const lock = await tryVerifyLock(services.state, { requestedBy: 'start' });
  if (!lock) return [];
  try {
    return await dropLeftovers(services);
  } finally {
    await lock.release();
  }
}

/** Call while holding the verify lock: then every noted scratch database is a leftover. */
async function dropLeftovers(services: Services): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await scratchDatabases(services.state)) {
    if (!SCRATCH_NAME.test(name)) continue;
    try {
      await withConnection(services.databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`), {
        connectTimeoutMs: services.config.timeouts.connectMs,
        applicationName: 'recipedb-ops verify',
      });
      await forgetScratchDatabase(services.state, name);
      dropped.push(name);
      services.log.warn({ database: name }, 'dropped a scratch database an interrupted backup verification left behind');
    } catch (error) {
      services.log.warn({ err: error, database: name }, 'could not drop a leftover scratch database');
    }
  }
  return dropped;
}
