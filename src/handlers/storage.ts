/**
 * `storage`: the database's data volume claim (RECIPEDB_PVC) — requested size and capacity, the
 * storage class and whether it allows expansion, the resize conditions — against what PostgreSQL
 * keeps on it. `storage expand <size>`: the runbook's "Storage Expansion" (`kubectl patch pvc …`),
 * gated; a size that is not larger than today's, or a class without allowVolumeExpansion, is
 * refused before any approval is asked (the executor is storage-expand-procedure.ts).
 */
import { z } from 'zod';
import { formatBytes } from '../format.js';
import { parseQuantity } from '../ops/kube/quantity.js';
import { readStorageClass, readVolumeClaim, type StorageClassResult, type VolumeClaim } from '../ops/kube/volume-claim.js';
import { readDataSize, type DataSize } from '../ops/postgres/data-size.js';
import { withTimeout } from '../with-timeout.js';
import { describeFailure } from '../ops/failure.js';
import { requireKube } from './database-change.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import { noFlags, noWords } from './args.js';
import { defineHandler } from './handler.js';
import { Refusal } from './refusal.js';
import { storageExpandPlan, type StorageExpandPlan } from './storage-expand-plan.js';
import { runStorageExpandProcedure } from './storage-expand-procedure.js';

const STORAGE_TIMEOUT_MS = 10_000;
const MAX_VOLUME_BYTES = 64 * 2 ** 40;
// Sizes as volumes are sized: whole or decimal numbers with a binary or decimal unit (no milli, no bare bytes).
const SIZE = /^(?:\d+(?:\.\d+)?)(?:Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)$/;

export type StorageResult =
  | { configured: false }
  | {
      configured: true;
      measuredAt: Date;
      claim: VolumeClaim;
      storageClass: StorageClassResult | null;
      data: { ok: true; size: DataSize } | { ok: false; reason: string };
    };

const NOTHING_OR_EXPAND = 'takes nothing, or `expand <size>` (e.g. storage expand 20Gi)';

const noArgs = z.object({ positional: noWords(NOTHING_OR_EXPAND), flags: noFlags(NOTHING_OR_EXPAND) }).transform(() => ({}));

export const storageHandler = defineHandler({
  name: 'storage',
  usage: 'storage',
  summary: "the database's volume claim: capacity, requested size, storage class (expandable or not), database size against capacity; `storage expand <size>` grows it (needs approval)",
  args: noArgs,
  async run(_args, ctx): Promise<StorageResult> {
    const { kube } = ctx;
    if (kube === null) return { configured: false };
    const target = { namespace: ctx.config.database.namespace, pvc: ctx.config.database.pvc };
    const signal = AbortSignal.timeout(STORAGE_TIMEOUT_MS + 250);
    const [claim, data] = await Promise.all([
      withTimeout(readVolumeClaim(kube, target, signal), STORAGE_TIMEOUT_MS, 'Kubernetes'),
      readDataSize(ctx.db).then(
        (size) => ({ ok: true as const, size }),
        (error: unknown) => ({ ok: false as const, reason: describeFailure(error) }),
      ),
    ]);
    const storageClass = claim.storageClass === null ? null : await readStorageClass(kube, claim.storageClass, signal);
    return { configured: true, measuredAt: ctx.now(), claim, storageClass, data };
  },
});

const expandArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx) => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    const [size, ...rest] = raw.positional;
    if (size === undefined || rest.length > 0 || Object.keys(raw.flags).length > 0) return fail('expand takes one size, e.g. storage expand 20Gi');
    const bytes = SIZE.test(size) ? parseQuantity(size) : null;
    if (bytes === null || bytes <= 0) return fail(`expand takes a size like 20Gi or 1Ti, not "${size.slice(0, 40)}"`);
    if (bytes > MAX_VOLUME_BYTES) return fail(`expand ${size} is more than the 64Ti the bot will ask for`);
    return { size, bytes };
  });

export const storageExpandHandler = defineHandler({
  name: 'storage',
  usage: 'storage expand <size>',
  summary: "grow the database's volume claim to <size> (never shrinks; the storage class must allow expansion)",
  gated: true,
  args: expandArgs,
  async run(args, ctx): Promise<GatedResult<StorageExpandPlan>> {
    const kube = requireKube(ctx, 'storage expand');
    const target = { namespace: ctx.config.database.namespace, pvc: ctx.config.database.pvc };
    const where = `${target.namespace}/${target.pvc}`;
    const claim = await readVolumeClaim(kube, target);
    if (claim.requested === null || claim.requestedBytes === null) throw new Refusal(`The volume claim ${where} requests no storage size that the bot can read; nothing was requested.`);
    if (args.bytes <= claim.requestedBytes) {
      const verb = args.bytes === claim.requestedBytes ? 'is what it requests already' : `is smaller than the ${claim.requested} it requests today`;
      throw new Refusal(`${args.size} ${verb}: a volume claim can only grow. Nothing was requested.`);
    }
    if (claim.storageClass === null) throw new Refusal(`The volume claim ${where} has no storage class, so it cannot be expanded (only dynamically provisioned claims can). Nothing was requested.`);
    const storageClass = await readStorageClass(kube, claim.storageClass);
    if (!storageClass.ok) throw new Refusal(`Cannot tell whether ${where} may grow: ${storageClass.reason}. Nothing was requested.`);
    if (!storageClass.storageClass.allowVolumeExpansion) {
      throw new Refusal(
        `The storage class ${claim.storageClass} of ${where} does not allow volume expansion (allowVolumeExpansion is not true), so the claim cannot grow to ${args.size}. Nothing was requested.`,
      );
    }
    const pending = claim.conditions.find((c) => c.type === 'Resizing' || c.type === 'FileSystemResizePending');
    return planned(
      'storage-expand',
      `expand the volume claim ${where} from ${claim.requested} to ${args.size}`,
      [
        `${where} (storage class ${claim.storageClass}, ${storageClass.storageClass.provisioner}): requested ${claim.requested} → ${args.size}; capacity now ${claim.capacity ?? 'unknown'}`,
        `${formatBytes(claim.requestedBytes)} → ${formatBytes(args.bytes)}: a claim cannot be shrunk back afterwards`,
        'the database keeps running; if the driver expands only offline (FileSystemResizePending), the file system grows at the next restart of the database pod',
        ...(pending ? [`⚠ the claim is still in ${pending.type} from an earlier expansion`] : []),
      ],
      { ...target, storageClass: claim.storageClass, from: claim.requested, fromBytes: claim.requestedBytes, to: args.size, toBytes: args.bytes },
    );
  },
});

export const storageExpandAction: GatedAction<StorageExpandPlan> = {
  action: 'storage-expand',
  plan: storageExpandPlan,
  execute: (plan, ctx) => runStorageExpandProcedure(plan, ctx),
};
