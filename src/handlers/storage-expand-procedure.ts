/**
 * The approved volume expansion, as the runbook's "Storage Expansion" does it by hand (`kubectl
 * patch pvc …` then `kubectl get pvc -w`), as a table of steps:
 *
 *   1. the claim is as approved, and its class still allows expansion
 *   2. request the new size (no undo: a claim cannot shrink)
 *   3. follow the resize until status.capacity shows it — or FileSystemResizePending, which means
 *      the file system grows only when the database pod restarts: the report says so
 *   4. the database's size against the new capacity
 */
import { formatDuration } from '../duration.js';
import { failure } from '../ops/failure.js';
import { formatBytes } from '../format.js';
import { readStorageClass, readVolumeClaim, requestVolumeSize, followVolumeResize, type ResizeEnd } from '../ops/kube/volume-claim.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { readDataSize } from '../ops/postgres/data-size.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import { runLockedProcedure } from './locked-procedure.js';
import type { Procedure } from './procedure-runner.js';
import type { StorageExpandPlan } from './storage-expand-plan.js';
import type pg from 'pg';

interface ExpandState {
  plan: StorageExpandPlan;
  kube: Kube;
  db: pg.Pool;
  timeoutMs: number;
  requested: boolean;
  end?: ResizeEnd;
}

const RESTART_NEEDED = 'the file system grows to the new size only when the database pod restarts (FileSystemResizePending)';

export const storageExpandProcedure: Procedure<ExpandState> = {
  name: 'storage-expand',
  steps: [
    {
      title: 'the claim is as approved',
      run: async (s) => {
        const claim = await readVolumeClaim(s.kube, s.plan);
        if (claim.requestedBytes !== s.plan.fromBytes) {
          throw failure(`the claim's requested size changed since the request (now ${claim.requested ?? 'none'}, approved from ${s.plan.from}): request the expansion again`);
        }
        const sc = await readStorageClass(s.kube, s.plan.storageClass);
        if (!sc.ok) throw failure(sc.reason);
        if (!sc.storageClass.allowVolumeExpansion) throw failure(`the storage class ${s.plan.storageClass} no longer allows volume expansion`);
        return { note: `requests ${claim.requested}, capacity ${claim.capacity ?? 'unknown'}, class ${s.plan.storageClass} allows expansion` };
      },
    },
    {
      title: 'request the new size',
      run: async (s) => {
        await requestVolumeSize(s.kube, s.plan, s.plan.to);
        s.requested = true;
        return { title: `request ${s.plan.from} → ${s.plan.to}` };
      },
    },
    {
      title: 'follow the resize',
      run: async (s, step) => {
        s.end = await followVolumeResize(s.kube, s.plan, {
          bytes: s.plan.toBytes,
          timeoutMs: s.timeoutMs,
          onProgress: (claim) =>
            step.progress(`resizing: capacity ${claim.capacity ?? 'unknown'}${claim.conditions.length ? `, ${claim.conditions.map((c) => c.type).join(', ')}` : ''}`),
        });
        const { claim, outcome, tookMs } = s.end;
        const conditions = claim.conditions.map((c) => `${c.type}${c.message ? ` (${c.message})` : ''}`).join('; ');
        if (outcome === 'done') return { note: `capacity ${claim.capacity ?? '?'} after ${formatDuration(tookMs)}` };
        if (outcome === 'restart-pending') return { status: 'differs', note: `capacity still ${claim.capacity ?? '?'}: ${RESTART_NEEDED}` };
        if (outcome === 'failed') throw failure(`the resize failed: ${conditions}`);
        throw failure(`the capacity is still ${claim.capacity ?? 'unknown'} after ${formatDuration(tookMs)}${conditions ? ` (${conditions})` : ''}`);
      },
    },
    {
      title: "the database's size against the capacity",
      run: async (s) => {
        const capacity = s.end?.claim.capacityBytes ?? null;
        const size = await readDataSize(s.db);
        const used = size.allDatabasesBytes + (size.walBytes ?? 0);
        const share = capacity ? ` = ${Math.round((used / capacity) * 100)}% of ${formatBytes(capacity)}` : '';
        return { note: `databases ${formatBytes(size.allDatabasesBytes)}${size.walBytes !== null ? ` + WAL ${formatBytes(size.walBytes)}` : ''}${share}` };
      },
    },
  ],
  conclude(s, record) {
    const where = `${s.plan.namespace}/${s.plan.pvc}`;
    if (record.failed && !s.requested) return { ok: false, summary: `nothing was changed: ${record.failed.reason}`, endState: [`Volume claim: ${s.plan.from}, unchanged`] };
    const claim = s.end?.claim;
    const state = `Volume claim: requests ${s.plan.to}, capacity ${claim?.capacity ?? 'unknown'}`;
    if (record.failed) {
      return {
        ok: false,
        summary: `FAILED at step ${record.failed.number}: ${record.failed.reason}`,
        endState: [state, 'The request cannot be taken back: a claim does not shrink.'],
        next: ['Check `storage` and `events` (the volume claim\'s warnings) for what the resizer says.'],
      };
    }
    if (record.stopped) return { ok: false, summary: `stopped: ${record.stopped}`, endState: [state], next: ['Check `storage` later.'] };
    if (s.end?.outcome === 'restart-pending') {
      return {
        ok: true,
        summary: `${where} now requests ${s.plan.to}; ${RESTART_NEEDED}`,
        endState: [state, 'File system: still the old size until the database pod restarts'],
        next: ['Restart the database pod in a quiet moment (for instance with the next `image` or `resize`), then check `storage`.'],
      };
    }
    return { ok: true, summary: `${where} has grown to ${claim?.capacity ?? s.plan.to}`, endState: [state] };
  },
};

export async function runStorageExpandProcedure(plan: StorageExpandPlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  if (!ctx.kube) return { ok: false, summary: 'Kubernetes is not configured; nothing was done', lines: [] };
  const state: ExpandState = { plan, kube: ctx.kube, db: ctx.db, timeoutMs: ctx.config.rolloutTimeoutMs, requested: false };
  return runLockedProcedure(ctx, { kind: 'storage-expand', procedure: storageExpandProcedure, state, untouched: [`Volume claim: ${plan.from}, unchanged`] });
}
