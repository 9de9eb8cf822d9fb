/**
 * What the point-in-time restore's report says, from its state alone (`conclude` is pure): the
 * verdict, and the state the database, the application and the safety point are left in — for
 * the ways it can end. The procedure itself runs for real in test/bot/pitr-restore.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { applicationScaling, type AppScaling } from '../../src/handlers/app-scale-steps.js';
import type { ExecutionContext } from '../../src/handlers/gated.js';
import { concludePitrRestore, type PitrRestoreState } from '../../src/handlers/pitr-restore-procedure.js';
import type { PitrRestorePlan } from '../../src/handlers/pitr-restore-plan.js';
import type { RunRecord } from '../../src/handlers/procedure-runner.js';

const plan: PitrRestorePlan = {
  target: { pg: '2026-12-03 12:10:23.555+00', iso: '2026-12-03T12:10:23.555Z', epochMs: Date.UTC(2026, 11, 3, 12, 10, 23, 555) },
  typed: '2026-12-03T13:10:23.555+01:00',
  backup: { label: '20261203-121019F_20261203-121025I', type: 'incr', stoppedAt: '2026-12-03T12:10:27.000Z', startWal: '000000010000000000000005', stopLsn: '0/6000050', timeline: 1 },
  timeline: 1,
  fromTimeline: 1,
  app: { namespace: 'default', deployment: 'recipe-app' },
  database: { namespace: 'recipe-database', deployment: 'recipe-database' },
};
const safety = { at: '2026-12-03 12:20:01.123456+00', atIso: '2026-12-03T12:20:01.123456Z', lsn: '0/9000028', timeline: 1, restorePoint: 'recipedb-ops before apr_1', wal: '000000010000000000000009', archivedMs: 200 };
const ctx = { config: { scalableDeployments: ['default/recipe-app'] } } as unknown as ExecutionContext;

/** The application as app-scale-steps.ts leaves it: `{ replicas: 3, stopTried: true, end: … }`. */
function app(patch: Partial<AppScaling> = {}): AppScaling {
  return { ...applicationScaling(plan.app, { kubeConfigured: true, scalableDeployments: ['default/recipe-app'] }), ...patch };
}
function state(patch: Partial<PitrRestoreState>): PitrRestoreState {
  return { plan, ctx, app: app(), databaseStopped: false, restored: false, restoreTimeoutMs: 60_000, ...patch } as PitrRestoreState;
}
const ran: RunRecord = { steps: [], tookMs: 4_200 };
const failedAt = (number: number, title: string, reason: string): RunRecord => ({ ...ran, failed: { number, title, reason } });

describe('the point-in-time restore report', () => {
  it('after a restore that went through: restored, on the new timeline, the application back, how to go back', () => {
    const done = concludePitrRestore(
      state({ app: app({ replicas: 3, stopTried: true, end: { kind: 'back', ready: 3 } }), safety, databaseReplicas: 1, databaseStopped: true, restored: true, started: { timeline: 2, lastReplayedAt: null, tookMs: 900 } }),
      ran,
    );
    expect(done.ok).toBe(true);
    expect(done.summary).toBe('restored the database server to 2026-12-03 12:10:23.555 UTC in 4.2s; it is on timeline 2, the application is back at 3 replicas');
    expect(done.endState).toEqual([
      'Database: restored to 2026-12-03 12:10:23.555 UTC from 20261203-121019F_20261203-121025I, now on timeline 2',
      'Application: scaled back to 3 replicas (3 ready)',
      'Safety point: 2026-12-03 12:20:01.123456 UTC (LSN 0/9000028, timeline 1, restore point "recipedb-ops before apr_1") — to go back to it: /recipedb restore --to-time 2026-12-03T12:20:01.123456Z --timeline 1',
    ]);
    expect(done.next).toEqual(['`/recipedb pitr backup` takes a base backup on the new timeline, so that the next restore replays less WAL']);
  });

  it('a plan that no longer holds touches nothing, and says so', () => {
    const done = concludePitrRestore(state({}), failedAt(1, 'check the plan still holds', 'the base backup X is no longer in the repository'));
    expect(done.ok).toBe(false);
    expect(done.summary).toBe('FAILED at step 1 (check the plan still holds): the base backup X is no longer in the repository — database unchanged; the application was not touched');
    expect(done.endState).toEqual(['Database: unchanged (nothing was restored)', 'Application: not touched', 'Safety point: none (not reached)']);
  });

  it('a database that was restored but did not come back is DOWN, with the server\'s word and the way back', () => {
    const done = concludePitrRestore(
      state({ app: app({ replicas: 3, stopTried: true, end: { kind: 'back', ready: 3 } }), safety, databaseStopped: true, restored: true, startProblem: 'the database had not finished recovering after 30m — the server log says: FATAL:  recovery ended before configured recovery target was reached' }),
      failedAt(6, 'start the database', 'the database had not finished recovering after 30m'),
    );
    expect(done.summary).toMatch(/^FAILED at step 6 \(start the database\): .* — the database is DOWN; the application is back at 3 replicas$/);
    expect(done.endState[0]).toBe(
      'Database: DOWN — restored, but it did not finish recovering: the database had not finished recovering after 30m — the server log says: FATAL:  recovery ended before configured recovery target was reached. Look at `/recipedb logs`, `/recipedb status`; the state before the restore can be recovered with `/recipedb restore --to-time 2026-12-03T12:20:01.123456Z --timeline 1`',
    );
  });

  it('a restore that failed on the data directory, with the database started again, is NOT restored', () => {
    const done = concludePitrRestore(
      state({ app: app({ replicas: 3, stopTried: true, end: { kind: 'back', ready: 3 } }), safety, databaseStopped: true, restored: false, started: { timeline: 1, lastReplayedAt: null, tookMs: 300 } }),
      failedAt(5, 'restore the data directory', 'pitr-restore.sh failed (exit code 75): ERROR: [075]: …'),
    );
    expect(done.summary).toMatch(/ — database NOT restored, running again; the application is back at 3 replicas$/);
    expect(done.endState[0]).toMatch(/^Database: running again on timeline 1, NOT restored/);
    expect(done.next).toEqual([]);
  });

  it('an application that could not be scaled back is shouted, with the command that does it', () => {
    const done = concludePitrRestore(
      state({ app: app({ replicas: 3, stopTried: true, end: { kind: 'failed', reason: 'Kubernetes did not answer within 15s', now: 0 } }), databaseStopped: true, restored: true, started: { timeline: 2, lastReplayedAt: null, tookMs: 1 } }),
      failedAt(8, 'scale default/recipe-app 0 → 3', 'Kubernetes did not answer within 15s'),
    );
    expect(done.summary).toMatch(/the application is STILL AT 0 REPLICAS$/);
    expect(done.endState[1]).toBe('Application: STILL AT 0 REPLICAS — scale it back: /recipedb scale recipe-app 3');
  });
});
