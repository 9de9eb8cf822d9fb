/**
 * Opens everything a running bot needs: the operated pool, the state pool (migrated), Kubernetes,
 * the recorder, and starts the background jobs (src/jobs/). One pool per database, created here
 * and nowhere else.
 *
 *   const services = await openServices(config, log, { databaseUrl, stateDatabaseUrl });
 *   … await services.close();
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { createKube, type Kube } from './ops/kube/kube-client.js';
import { createPool } from './ops/postgres/pool.js';
import { openReservedSession } from './ops/postgres/reserved-session.js';
import { STATE_SCHEMA, migrate } from './state/migrate.js';
import { createRecorder } from './state/recorder.js';
import { createMetrics } from './metrics.js';
import { createLifecycle } from './lifecycle.js';
import { listBackups, newestBotBackup } from './ops/backup/list-backups.js';
import { readBackupRecords } from './state/backup-records.js';
import { createNotices } from './jobs/notices.js';
import { startJobs } from './jobs/start-jobs.js';
import { initContainerRestore } from './ops/pitr/kube-data-directory.js';
import { createPgBackRest } from './ops/pitr/pgbackrest.js';
import type { PitrServices } from './ops/pitr/pitr-services.js';

export interface OpenServices extends Services {
  close(): Promise<void>;
}

export async function openServices(
  config: Config,
  log: Logger,
  urls: { databaseUrl: string; stateDatabaseUrl: string },
  /** The tests' own point-in-time recovery (a local data directory instead of the init container). */
  overrides: { pitr?: PitrServices | null } = {},
): Promise<OpenServices> {
  const { connectMs, statementMs } = config.timeouts;
  const db = createPool({ url: urls.databaseUrl, connectMs, statementMs, onError: (err) => log.warn({ err }, 'operated database connection lost') });
  const state = createPool({
    url: urls.stateDatabaseUrl,
    connectMs,
    statementMs,
    searchPath: STATE_SCHEMA,
    max: 10,
    onError: (err) => log.warn({ err }, 'state database connection lost'),
  });
  // Opened first, before the server may fill up; a database that is down at start-up does not stop
  // the bot (its `status` says so), and the session keeps trying to open in the background.
  const reserved = openReservedSession({ url: urls.databaseUrl, connectMs, statementMs, log });
  const instance = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const closePools = () => Promise.allSettled([reserved.close(), db.end(), state.end()]);
  const start = async (): Promise<Services> => {
    await reserved.ready();
    const applied = await migrate(state);
    if (applied.length) log.info({ applied }, 'state database migrated');
    const kube = await createKube({ kubeconfig: config.kubeconfig });
    return {
      config,
      log,
      db,
      databaseUrl: urls.databaseUrl,
      reserved,
      state,
      kube,
      recorder: createRecorder(state, log),
      // The newest backup the bot wrote and recorded, whose file is still there: never a file's name.
      metrics: createMetrics({
        newestBackup: async () => newestBotBackup(await listBackups(path.resolve(config.backup.dir), await readBackupRecords(state)))?.takenAt ?? null,
      }),
      now: () => new Date(),
      lifecycle: createLifecycle(),
      notices: createNotices(log),
      instance,
      pitr: overrides.pitr !== undefined ? overrides.pitr : createPitrServices(config, kube),
    };
  };
  const opened = await start().catch(async (error: unknown) => {
    await closePools();
    throw error;
  });
  // Last, so that a failed start leaves no replica behind.
  const jobs = await startJobs(opened).catch(async (error: unknown) => {
    await closePools();
    throw error;
  });
  return {
    ...opened,
    async close() {
      // Jobs first: a scheduled backup still running is stopped, then this replica leaves.
      await jobs.stop();
      await closePools();
    },
  };
}

function createPitrServices(config: Config, kube: Kube | null): PitrServices | null {
  if (config.pitr === null) return null;
  const { namespace, deployment, container } = config.database;
  return {
    stanza: config.pitr.stanza,
    pgbackrest: createPgBackRest({ stanza: config.pitr.stanza, configFile: config.pitr.configFile, secrets: config.secrets }),
    dataDirectory: kube ? initContainerRestore(kube, { namespace, deployment, container, timeoutMs: config.pitr.restoreTimeoutMs }) : null,
  };
}
