/**
 * The procedure runner on a small procedure of its own: what runs after a failure (only the
 * `always` steps, after the undos of what went fine, newest first), what a stop signal does at
 * the next safe point, and the report the view renders.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runProcedure, type Procedure } from '../../src/handlers/procedure-runner.js';
import { procedureReportLines } from '../../src/bot/views/procedure-report-view.js';

interface Rollout {
  image: string;
  fail?: 'rollout' | 'check';
  log: string[];
}

const imageUpdate: Procedure<Rollout> = {
  name: 'image',
  steps: [
    { title: 'read the deployment', run: async (s) => void s.log.push('read') },
    {
      title: 'set the image',
      run: async (s) => {
        s.log.push('patch');
        return { title: `set the image postgres:15.4 → ${s.image}` };
      },
      undo: { title: 'put postgres:15.4 back', run: async (s) => void s.log.push('unpatch') },
    },
    {
      title: 'follow the rollout',
      run: async (s) => {
        s.log.push('rollout');
        if (s.fail === 'rollout') throw new Error('the new pod did not become ready within 5m');
        return { note: '1/1 ready' };
      },
    },
    {
      title: 'check the server version',
      run: async (s) => {
        s.log.push('check');
        if (s.fail === 'check') throw new Error('server_version is 16.1');
      },
    },
    { title: 'report to the channel', always: true, run: async (s) => void s.log.push('report') },
  ],
  conclude: (s, record) =>
    record.failed
      ? { ok: false, summary: `FAILED at step ${record.failed.number}: ${record.failed.reason}`, endState: [`Image: ${s.log.includes('unpatch') ? 'postgres:15.4 again' : s.image}`] }
      : record.stopped
        ? { ok: false, summary: `stopped: ${record.stopped}`, endState: [] }
        : { ok: true, summary: `now on ${s.image}`, endState: [`Image: ${s.image}`] },
};

const quiet = { progress: async () => undefined, log: pino({ level: 'silent' }) };

describe('runProcedure', () => {
  it('runs every step in order and reports each', async () => {
    const state: Rollout = { image: 'postgres:15.8', log: [] };
    const progress: string[] = [];
    const report = await runProcedure(imageUpdate, state, { ...quiet, progress: async (text) => void progress.push(text) });
    expect(state.log).toEqual(['read', 'patch', 'rollout', 'check', 'report']);
    expect(report).toMatchObject({ ok: true, summary: 'now on postgres:15.8', endState: ['Image: postgres:15.8'] });
    expect(report.steps.map((s) => [s.number, s.title, s.status])).toEqual([
      [1, 'read the deployment', 'ok'],
      [2, 'set the image postgres:15.4 → postgres:15.8', 'ok'],
      [3, 'follow the rollout', 'ok'],
      [4, 'check the server version', 'ok'],
      [5, 'report to the channel', 'ok'],
    ]);
    expect(progress[0]).toBe('Step 1/5: read the deployment…');
  });

  it('after a failure undoes what went fine, newest first, skips the rest, and still runs the `always` steps', async () => {
    const state: Rollout = { image: 'postgres:15.8', fail: 'rollout', log: [] };
    const report = await runProcedure(imageUpdate, state, quiet);
    expect(state.log).toEqual(['read', 'patch', 'rollout', 'unpatch', 'report']);
    expect(report.ok).toBe(false);
    expect(report.summary).toBe('FAILED at step 3: the new pod did not become ready within 5m');
    const lines = procedureReportLines(report);
    expect(lines[2]).toMatch(/^3\. follow the rollout — FAILED after \d+ms: the new pod did not become ready within 5m$/);
    expect(lines[3]).toMatch(/^ {3}↩ undo of step 2: put postgres:15\.4 back — ok \(\d+ms\)$/);
    expect(lines[4]).toBe('4. check the server version — not run');
    expect(lines[5]).toMatch(/^5\. report to the channel — ok/);
    expect(lines.slice(-2)).toEqual(['', 'Image: postgres:15.4 again']);
  });

  it('a stop signal stops at the next safe point: no further step starts but the `always` ones', async () => {
    const stop = new AbortController();
    const state: Rollout = { image: 'postgres:15.8', log: [] };
    const stopping: Procedure<Rollout> = {
      ...imageUpdate,
      steps: imageUpdate.steps.map((step, i) =>
        i === 1 ? { ...step, run: async (s, ctx) => { const done = await step.run(s, ctx); stop.abort(new Error('the operation lock was lost')); return done; } } : step,
      ),
    };
    const report = await runProcedure(stopping, state, { ...quiet, stop: stop.signal });
    expect(state.log).toEqual(['read', 'patch', 'report']);
    expect(report.summary).toBe('stopped: the operation lock was lost');
    expect(report.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'not-run', 'not-run', 'ok']);
  });

  it('hands each record to onStep as soon as it is known, undos and skipped steps included, in order', async () => {
    const seen: string[] = [];
    const state: Rollout = { image: 'postgres:15.8', fail: 'rollout', log: [] };
    await runProcedure(imageUpdate, state, {
      ...quiet,
      onStep: async (record, total) => {
        // By the time a step is handed over, the next one has not started yet.
        seen.push(`${record.number ?? `undo ${record.undoes}`}/${total} ${record.status} after ${state.log.length}`);
        if (record.number === 1) throw new Error('the audit log is down');
      },
    });
    expect(seen).toEqual(['1/5 ok after 1', '2/5 ok after 2', '3/5 failed after 3', 'undo 2/5 ok after 4', '4/5 not-run after 4', '5/5 ok after 5']);
  });
});
