import { describe, expect, it } from 'vitest';
import { createLifecycle } from '../src/lifecycle.js';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('the shutdown drain', () => {
  it('returns at once when nothing runs', async () => {
    const lifecycle = createLifecycle();
    await expect(lifecycle.drain({ graceMs: 10_000, cleanupMs: 10_000 })).resolves.toEqual({ unfinished: 0 });
    expect(lifecycle.draining).toBe(true);
    expect(lifecycle.stopSignal.aborted).toBe(false);
  });

  it('waits for running work, also work that joined after the drain began, without stopping it', async () => {
    const lifecycle = createLifecycle();
    const done: string[] = [];
    void lifecycle.track(later(50).then(() => done.push('first')));
    const drained = lifecycle.drain({ graceMs: 5_000, cleanupMs: 1_000 });
    void lifecycle.track(later(100).then(() => done.push('joined')));
    await expect(drained).resolves.toEqual({ unfinished: 0 });
    expect(done).toEqual(['first', 'joined']);
    expect(lifecycle.stopSignal.aborted).toBe(false);
  });

  it('after the grace period asks the work to stop, and counts what ignores it', async () => {
    const lifecycle = createLifecycle();
    const stopped: string[] = [];
    const stoppable = new Promise<void>((resolve) => lifecycle.stopSignal.addEventListener('abort', () => resolve()));
    void lifecycle.track(stoppable.then(() => stopped.push('backup')));
    void lifecycle.track(later(60_000));
    const announced: number[] = [];
    const result = await lifecycle.drain({ graceMs: 50, cleanupMs: 50, onStopSignal: (running) => announced.push(running) });
    expect(announced).toEqual([2]);
    expect(stopped).toEqual(['backup']);
    expect(result).toEqual({ unfinished: 1 });
  });

  it('a failed piece of work stays its caller\'s to handle (no unhandled rejection from tracking it)', async () => {
    const lifecycle = createLifecycle();
    await expect(lifecycle.track(Promise.reject(new Error('listener failed')))).rejects.toThrow('listener failed');
    await later(10);
    expect(lifecycle.running).toBe(0);
  });

  it('a failed piece of work does not end the drain early or late', async () => {
    const lifecycle = createLifecycle();
    void lifecycle.track(Promise.reject(new Error('boom'))).catch(() => undefined);
    void lifecycle.track(later(30));
    await expect(lifecycle.drain({ graceMs: 1_000, cleanupMs: 10 })).resolves.toEqual({ unfinished: 0 });
    expect(lifecycle.running).toBe(0);
  });
});
