/** pg_stat_statements created in the database but not preloaded by the server: an answer, not a failure. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/ops/postgres/pool.js';
import { readSlowestStatements } from '../../src/ops/postgres/statements.js';
import { startTestPostgres, testPostgresOn } from '../support/postgres.js';

describe('readSlowestStatements on a server without the library preloaded', () => {
  let cleanup: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const started = await startTestPostgres({ settings: { shared_preload_libraries: '' } });
    cleanup = started.cleanup;
    // CREATE EXTENSION succeeds without the library; reading the view is what fails.
    url = await testPostgresOn(started.pg).createDatabase('nopreload');
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it('says the server must load it and be restarted', async () => {
    const pool = createPool({ url, connectMs: 3_000, statementMs: 5_000 });
    try {
      const top = await readSlowestStatements(pool, { limit: 10 });
      // What the view then says is in test/bot/views/activity-views.test.ts.
      expect(top).toEqual({ available: false, missing: 'not-preloaded' });
    } finally {
      await pool.end();
    }
  });
});
