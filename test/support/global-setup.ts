/** Starts the one PostgreSQL cluster shared by every test file of a run (see postgres.ts). */
import type { TestProject } from 'vitest/node';
import { stopOnExit } from '../../src/dev/local-postgres.js';
import { startTestPostgres } from './postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { pg, cleanup } = await startTestPostgres();
  // If vitest is killed before its teardown, at least the server does not outlive it.
  const unregister = stopOnExit(pg);
  project.provide('testPostgres', { port: pg.port, adminUrl: pg.url() });
  return async () => {
    unregister();
    await cleanup();
  };
}
