/**
 * The restore's verdict and end state, worded from states alone: no database, no Kubernetes, no
 * restore is run. Each case is a state the steps could leave behind and the record of the run.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/format.js';
import { concludeRestore, newRestoreRun, type RestoreRun } from '../../src/handlers/restore-procedure.js';
import type { RunRecord, StepRecord, StepStatus } from '../../src/handlers/procedure-runner.js';

const NAME = 'recipe-database-backup-2026-01-15_10-30-00.sql.gz';
const SAFETY = 'recipe-database-backup-2026-01-16_09-00-00.sql.gz';
const plan = { name: NAME, sha256: 'a'.repeat(64), sizeBytes: 64_000, app: { namespace: 'default', deployment: 'recipe-app' } };

function run(change: (s: RestoreRun) => void = () => undefined, options = { kubeConfigured: true, scalableDeployments: ['default/recipe-app'] }): RestoreRun {
  const state = newRestoreRun(plan, options);
  change(state);
  return state;
}

function record(statuses: StepStatus[], extra: Partial<RunRecord> = {}): RunRecord {
  const titles = ['integrity check', 'stop the application default/recipe-app', 'safety backup of the current database', `restore ${NAME}`, 'row counts', 'scale default/recipe-app 0 → 3'];
  const steps: StepRecord[] = statuses.map((status, i) => ({ number: i + 1, title: titles[i] ?? '?', status, ms: 100 }));
  return { steps, tookMs: 12_000, ...extra };
}

/** What a run that got through the safety backup has learned. */
const stoppedAndBackedUp = (s: RestoreRun) => {
  s.app.replicas = 3;
  s.app.stopTried = true;
  s.safety = { name: SAFETY, sizeBytes: 64_000 };
};

describe('concludeRestore', () => {
  it('a clean run: restored, the application back, the safety backup named', () => {
    const state = run((s) => {
      stoppedAndBackedUp(s);
      s.database = 'restored';
      s.app.end = { kind: 'back', ready: 3 };
    });
    const c = concludeRestore(state, record(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']));
    expect(c.ok).toBe(true);
    expect(c.summary).toBe(`restored ${NAME} in 12s; the application is back at 3 replicas`);
    expect(c.endState).toEqual([`Database: restored from ${NAME}`, 'Application: scaled back to 3 replicas (3 ready)', `Safety backup: ${SAFETY} (${formatBytes(64_000)})`]);
  });

  it('a file that changed after approval: nothing touched, nothing reached', () => {
    const c = concludeRestore(
      run(),
      record(['failed', 'not-run', 'not-run', 'not-run', 'not-run', 'skipped'], { failed: { number: 1, title: 'integrity check', reason: `${NAME} is not the file that was written` } }),
    );
    expect(c.ok).toBe(false);
    expect(c.summary).toBe(`FAILED at step 1 (integrity check): ${NAME} is not the file that was written — database unchanged; the application was not touched`);
    expect(c.endState).toEqual(['Database: unchanged (nothing was restored)', 'Application: not touched', 'Safety backup: none (not reached)']);
  });

  it('a deployment that could not be read is said so', () => {
    const c = concludeRestore(
      run((s) => (s.app.readFailed = true)),
      record(['ok', 'failed', 'not-run', 'not-run', 'not-run', 'skipped'], { failed: { number: 2, title: 'stop the application default/recipe-app', reason: 'Kubernetes did not answer' } }),
    );
    expect(c.endState[1]).toBe('Application: not touched (default/recipe-app could not be read)');
  });

  it('a failed safety backup says why, and that nothing was restored', () => {
    const state = run((s) => {
      s.app.replicas = 3;
      s.app.stopTried = true;
      s.app.end = { kind: 'back', ready: 3 };
      s.safetyProblem = 'no space left on the device';
    });
    const c = concludeRestore(
      state,
      record(['ok', 'ok', 'failed', 'not-run', 'not-run', 'ok'], { failed: { number: 3, title: 'safety backup of the current database', reason: 'no space left on the device' } }),
    );
    expect(c.summary).toBe('FAILED at step 3 (safety backup of the current database): no space left on the device — database unchanged; the application is back at 3 replicas');
    expect(c.endState).toEqual(['Database: unchanged (nothing was restored)', 'Application: scaled back to 3 replicas (3 ready)', 'Safety backup: none — it failed: no space left on the device']);
  });

  it('a restore rolled back, and one psql left in doubt (pointing at the safety backup)', () => {
    const rolledBack = run((s) => {
      stoppedAndBackedUp(s);
      s.database = 'rolled-back';
      s.app.end = { kind: 'back', ready: 3 };
    });
    const failed = { failed: { number: 4, title: `restore ${NAME}`, reason: 'psql failed' } };
    expect(concludeRestore(rolledBack, record(['ok', 'ok', 'ok', 'failed', 'not-run', 'ok'], failed)).endState[0]).toBe(
      'Database: unchanged (the restore ran in one transaction and was rolled back)',
    );
    const inDoubt = { ...rolledBack, database: 'in-doubt' as const };
    const c = concludeRestore(inDoubt, record(['ok', 'ok', 'ok', 'failed', 'not-run', 'ok'], failed));
    expect(c.summary).toContain('— database may be partially restored; the application is back at 3 replicas');
    expect(c.endState[0]).toBe(`Database: may be partially restored — psql stopped abnormally; check it, or restore the safety backup ${SAFETY}`);
  });

  it('row counts that differ make it a failure, and point at the safety backup', () => {
    const state = run((s) => {
      stoppedAndBackedUp(s);
      s.database = 'restored';
      s.counts = 'differ';
      s.app.end = { kind: 'back', ready: 3 };
    });
    const c = concludeRestore(state, record(['ok', 'ok', 'ok', 'ok', 'differs', 'ok']));
    expect(c.ok).toBe(false);
    expect(c.summary).toBe(`restored ${NAME}, but the row counts differ from those at backup time — database restored; the application is back at 3 replicas`);
    expect(c.endState[0]).toBe(`Database: restored from ${NAME}, but its row counts are not those at backup time (check it, or restore the safety backup ${SAFETY})`);
    const unread = concludeRestore({ ...state, counts: 'unread' }, record(['ok', 'ok', 'ok', 'ok', 'failed', 'ok'], { failed: { number: 5, title: 'row counts', reason: 'timeout' } }));
    expect(unread.endState[0]).toBe(`Database: restored from ${NAME} (its row counts could not be read)`);
  });

  it('an application left at 0 names the fix: `scale` when allowed, kubectl otherwise', () => {
    const stillDown = (now: number | undefined, scalable: string[]) =>
      run(
        (s) => {
          stoppedAndBackedUp(s);
          s.database = 'restored';
          s.app.end = { kind: 'failed', reason: 'Kubernetes could not scale the deployment default/recipe-app: HTTP 500', now };
        },
        { kubeConfigured: true, scalableDeployments: scalable },
      );
    const failed = { failed: { number: 6, title: 'scale default/recipe-app 0 → 3', reason: 'HTTP 500' } };
    const allowed = concludeRestore(stillDown(0, ['default/recipe-app']), record(['ok', 'ok', 'ok', 'ok', 'ok', 'failed'], failed));
    expect(allowed.summary).toBe('FAILED at step 6 (scale default/recipe-app 0 → 3): HTTP 500 — database restored; the application is STILL AT 0 REPLICAS');
    expect(allowed.endState[1]).toBe('Application: STILL AT 0 REPLICAS — scale it back: /recipedb scale recipe-app 3');
    const other = concludeRestore(stillDown(0, []), record(['ok', 'ok', 'ok', 'ok', 'ok', 'failed'], failed));
    expect(other.endState[1]).toBe('Application: STILL AT 0 REPLICAS — scale it back: kubectl -n default scale deployment/recipe-app --replicas=3');
    const unknown = concludeRestore(stillDown(undefined, ['default/recipe-app']), record(['ok', 'ok', 'ok', 'ok', 'ok', 'failed'], failed));
    expect(unknown.endState[1]).toMatch(/^Application: MAY STILL BE AT 0 REPLICAS \(Kubernetes did not answer: .*\) — scale it back: \/recipedb scale recipe-app 3$/);
  });

  it('an application scaled back but not ready fails the verdict, though the database is restored', () => {
    const state = run((s) => {
      stoppedAndBackedUp(s);
      s.database = 'restored';
      s.app.end = { kind: 'not-ready', ready: 1 };
    });
    const c = concludeRestore(state, record(['ok', 'ok', 'ok', 'ok', 'ok', 'failed'], { failed: { number: 6, title: 'scale default/recipe-app 0 → 3', reason: 'only 1 of 3 replicas were ready after 5m' } }));
    expect(c.ok).toBe(false);
    expect(c.endState[1]).toBe('Application: scaled back to 3 replicas, but only 1 were ready after 5m — check its pods');
  });

  it('an application scaled back while the bot shut down is not followed, and says so', () => {
    const state = run((s) => {
      stoppedAndBackedUp(s);
      s.app.end = { kind: 'not-followed', reason: 'the bot was shutting down' };
    });
    const c = concludeRestore(state, record(['ok', 'ok', 'ok', 'failed', 'not-run', 'ok'], { failed: { number: 4, title: `restore ${NAME}`, reason: 'the restore was cancelled; nothing of it was kept' } }));
    expect(c.endState[1]).toBe('Application: scaled back to 3 replicas (not followed to ready: the bot was shutting down)');
  });

  it('an application an earlier, interrupted restore left at 0 goes back to what it had before that', () => {
    const state = run((s) => {
      s.app.replicas = 4;
      s.app.stopTried = true;
      s.app.leftBy = 'an interrupted restore';
      s.database = 'restored';
      s.app.end = { kind: 'back', ready: 4 };
    });
    expect(concludeRestore(state, record(['ok', 'ok', 'ok', 'ok', 'ok', 'ok'])).endState[1]).toBe('Application: scaled back to 4 replicas (4 ready)');
  });

  it('a run stopped at a safe point (the operation lock lost) says where and why', () => {
    const state = run((s) => {
      stoppedAndBackedUp(s);
      s.app.end = { kind: 'back', ready: 3 };
    });
    const c = concludeRestore(state, record(['ok', 'ok', 'ok', 'not-run', 'not-run', 'ok'], { stopped: 'the connection holding the lock in the state database was lost' }));
    expect(c.ok).toBe(false);
    expect(c.summary).toBe(
      `STOPPED before step 4 (restore ${NAME}): the connection holding the lock in the state database was lost — database unchanged; the application is back at 3 replicas`,
    );
    expect(c.endState[0]).toBe('Database: unchanged (nothing was restored)');
  });

  it('without Kubernetes the application was not stopped, and the report says so', () => {
    const state = run(
      (s) => {
        s.safety = { name: SAFETY, sizeBytes: 64_000 };
        s.database = 'restored';
      },
      { kubeConfigured: false, scalableDeployments: [] },
    );
    const c = concludeRestore(state, record(['ok', 'skipped', 'ok', 'ok', 'ok', 'skipped']));
    expect(c.ok).toBe(true);
    expect(c.summary).toBe(`restored ${NAME} in 12s; the application was NOT stopped (Kubernetes is not configured)`);
    expect(c.endState[1]).toBe('Application: NOT STOPPED — Kubernetes is not configured, so default/recipe-app kept running while its database was replaced');
    expect(c.next).toEqual(['check default/recipe-app: it kept running during the restore, and may hold connections or cached data from before it']);
  });
});
