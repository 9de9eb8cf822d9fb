/**
 * What point-in-time recovery needs at run time, built once with the other services: pgBackRest
 * for the stanza, and the way a restore reaches the database's data directory (the init
 * container in the cluster; the tests hand in their own). Null when PGBACKREST_STANZA is not set.
 *
 *   const pitr = createPitrServices(config, kube); // { stanza, pgbackrest, dataDirectory } | null
 */
import type { Config } from '../../config.js';
import type { Kube } from '../kube/kube-client.js';
import type { DataDirectory } from './data-directory.js';
import { initContainerRestore } from './kube-data-directory.js';
import { createPgBackRest, type PgBackRest } from './pgbackrest.js';

export interface PitrServices {
  stanza: string;
  pgbackrest: PgBackRest;
  /** Null without Kubernetes: the bot cannot stop the database then, so it does not restore. */
  dataDirectory: DataDirectory | null;
}

export function createPitrServices(config: Config, kube: Kube | null): PitrServices | null {
  if (config.pitr === null) return null;
  const { namespace, deployment, container } = config.database;
  return {
    stanza: config.pitr.stanza,
    pgbackrest: createPgBackRest({ stanza: config.pitr.stanza, configFile: config.pitr.configFile, secrets: config.secrets }),
    dataDirectory: kube ? initContainerRestore(kube, { namespace, deployment, container, timeoutMs: config.pitr.restoreTimeoutMs }) : null,
  };
}
