/**
 * The typed dependencies every handler receives: pools, Kubernetes, the recorder, the clock.
 * Tests build it from real, test-started servers; nothing is module-mocked.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Kube } from './ops/kube/kube-client.js';
import type { Recorder } from './state/recorder.js';
import type { Metrics } from './metrics.js';
import type { Lifecycle } from './lifecycle.js';
import type { Notices } from './jobs/notices.js';
import type { ReservedSession } from './ops/postgres/reserved-session.js';
import type { PitrServices } from './ops/pitr/pitr-services.js';

export interface Services {
  config: Config;
  log: Logger;
  /** The operated database (DATABASE_URL). */
  db: pg.Pool;
  /** Its URL, for the client tools (pg_dump, psql) that cannot share the pool. */
  databaseUrl: string;
  /** A session to it kept open for when the pool cannot connect (every slot taken). */
  reserved: ReservedSession;
  /** The bot's own state (STATE_DATABASE_URL). */
  state: pg.Pool;
  kube: Kube | null;
  recorder: Recorder;
  metrics: Metrics;
  now: () => Date;
  /** Draining on SIGTERM; long work passes its stopSignal on. */
  lifecycle: Lifecycle;
  /** What background jobs have to tell people; the Slack app (or the console) shows it. */
  notices: Notices;
  /** This process among the replicas (host:pid:random), as claims in the state database name it. */
  instance: string;
  /** Point-in-time recovery with pgBackRest (PGBACKREST_STANZA), or null when not configured. */
  pitr: PitrServices | null;
}

/** Who runs a command and where. */
export interface Actor {
  userId: string;
  channelId: string;
}
