/**
 * One operation on the database at a time, across replicas, and a lock that says when it is lost:
 * real sessions on a real state database.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireOperationLock, OperationRunningError, runningOperation } from '../../src/ops/operation-lock.js';
import { trySessionLock, BOT_LOCKS } from '../../src/ops/postgres/session-lock.js';
import { createTestDatabase } from '../support/postgres.js';

describe('the operation lock', () => {
  let replicaA: pg.Pool;
  let replicaB: pg.Pool;
  beforeAll(async () => {
    const url = await createTestDatabase('oplock');
    replicaA = new pg.Pool({ connectionString: url });
    replicaB = new pg.Pool({ connectionString: url });
  });
  afterAll(async () => {
    await replicaA.end();
    await replicaB.end();
  });

  it('refuses a second operation on another replica, saying what runs and who started it', async () => {
    const lock = await acquireOperationLock(replicaA, { kind: 'restore', by: 'U_BOB' });
    try {
      expect(await runningOperation(replicaB)).toEqual({ kind: 'restore', by: 'U_BOB' });
      const refused = await acquireOperationLock(replicaB, { kind: 'maintenance', by: 'U_CAROL' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OperationRunningError);
      expect((refused as Error).message).toBe('a restore is running (started by @U_BOB)');
    } finally {
      await lock.release();
    }
    expect(await runningOperation(replicaB)).toBeNull();
    const next = await acquireOperationLock(replicaB, { kind: 'image', by: 'U_CAROL' });
    await next.release();
  });

  it('says the lock is lost when the session holding it is ended, and another replica can take it', async () => {
    const lock = await trySessionLock(replicaA, BOT_LOCKS.operation, { applicationName: 'recipedb-ops operation restore U_BOB', checkEveryMs: 100 });
    expect(lock).not.toBeNull();
    await replicaB.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'recipedb-ops operation restore U_BOB'`);
    await new Promise<void>((resolve) => {
      if (lock!.lost.aborted) resolve();
      else lock!.lost.addEventListener('abort', () => resolve(), { once: true });
    });
    expect(String(lock!.lost.reason)).toMatch(/the (connection holding the lock in the state database was (lost|closed)|state database stopped answering)/);
    const taken = await acquireOperationLock(replicaB, { kind: 'restore', by: 'U_CAROL' });
    await taken.release();
    await lock!.release();
  });
});
