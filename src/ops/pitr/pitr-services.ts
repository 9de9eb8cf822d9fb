/**
 * What point-in-time recovery needs at run time, built once with the other services: pgBackRest
 * for the stanza, and the way a restore reaches the database's data directory (the init
 * container in the cluster; the tests hand in their own). Null when PGBACKREST_STANZA is not set.
 * Built from the configuration in src/services.ts (ops does not read the configuration).
 *
 *   services.pitr // { stanza, pgbackrest, dataDirectory } | null
 */
import type { DataDirectory } from './data-directory.js';
import type { PgBackRest } from './pgbackrest.js';

export interface PitrServices {
  stanza: string;
  pgbackrest: PgBackRest;
  /** Null without Kubernetes: the bot cannot stop the database then, so it does not restore. */
  dataDirectory: DataDirectory | null;
}
