/**
 * `image <image>`: the runbook's "Applying Security Patches" (`kubectl set image …`, then
 * `kubectl rollout status`). The image must name its PostgreSQL version in its tag (`latest` names
 * none), and the same major version the database runs (another needs pg_upgrade of the data
 * directory); the plan shows the current image and digest → the new one. On approval
 * (image-procedure.ts) the container is patched, the rollout followed, the new imageID and the
 * server's version checked — and the previous image put back when the new pod is not ready in time.
 */
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { readDatabaseDeployment } from '../ops/kube/database-deployment.js';
import { readDatabasePods } from '../ops/kube/database-pods.js';
import { digestOf, ImageReferenceError, parseImageReference, shortDigest, type ImageReference } from '../ops/kube/image-reference.js';
import { readServerVersion, type ServerVersion } from '../ops/postgres/server-version.js';
import { databaseTarget, requireKube, restartWarning } from './database-change.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';
import { imagePlan, type ImagePlan } from './image-plan.js';
import { runImageProcedure } from './image-procedure.js';
import { Refusal } from './refusal.js';

const imageArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx) => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (Object.keys(raw.flags).length > 0) return fail('takes no options, only the image (e.g. postgres:15.8)');
    if (raw.positional.length !== 1) return fail('takes one image, e.g. postgres:15.8 or postgres:15.8@sha256:…');
    const text = raw.positional[0] as string;
    let reference: ImageReference;
    try {
      reference = parseImageReference(text);
    } catch (error) {
      return fail(error instanceof ImageReferenceError ? error.message : String(error));
    }
    if (reference.tag === null && reference.digest === null) return fail(`needs a tag: "${text}" alone means latest, which names no version — give e.g. ${text}:15.8`);
    if (reference.tag === null) return fail(`needs the tag with the digest: a digest alone does not say which PostgreSQL version it is — give e.g. postgres:15.8@${reference.digest?.slice(0, 14) ?? 'sha256:'}…`);
    if (reference.tag === 'latest') return fail('cannot use the tag latest: it names no version, and moves — give the exact version, e.g. postgres:15.8');
    if (reference.version === null || reference.major === null) return fail(`needs a tag that names the PostgreSQL version (like 15.8 or 15.8-bookworm), not "${reference.tag}"`);
    return { image: text.trim(), reference };
  });

export const imageHandler = defineHandler({
  name: 'image',
  usage: 'image <image>',
  summary: "update the database container's image (a security update within its PostgreSQL major version); the previous image is put back if the new pod is not ready",
  gated: true,
  args: imageArgs,
  async run(args, ctx): Promise<GatedResult<ImagePlan>> {
    const kube = requireKube(ctx, 'image');
    const target = databaseTarget(ctx.config);
    const where = `${target.namespace}/${target.deployment}`;
    const [current, podsRead, server] = await Promise.all([
      readDatabaseDeployment(kube, target),
      readDatabasePods(kube, target, { metricsTimeoutMs: 1 }).catch(() => ({ pods: [] })),
      readServerVersion(ctx.db).catch(() => null as ServerVersion | null),
    ]);
    const pods = podsRead.pods;
    const running = pods.flatMap((p) => p.containers.filter((c) => c.name === target.container && c.imageId !== null));
    const fromDigest = digestOf(running[0]?.imageId);
    let currentReference: ImageReference | null = null;
    try {
      currentReference = parseImageReference(current.image);
    } catch {
      currentReference = null;
    }
    // The data directory's major version is what the server runs; the current tag says it when the server does not answer.
    const runningMajor = server?.major ?? currentReference?.major ?? null;
    const wanted = args.reference;
    if (runningMajor === null) {
      throw new Refusal(
        `Cannot tell which PostgreSQL major version the database runs (the server does not answer and the image ${current.image} names none), so ${args.image} cannot be checked against it. Nothing was requested.`,
      );
    }
    if (wanted.major !== runningMajor) {
      const runs = server !== null ? `the database runs PostgreSQL ${server.version}` : `the current image ${current.image} is PostgreSQL ${runningMajor}`;
      throw new Refusal(
        `${args.image} is PostgreSQL ${wanted.major}, but ${runs}: another major version cannot open this data directory without pg_upgrade, which \`image\` does not do. Nothing was requested.`,
      );
    }
    if (current.image === args.image) {
      return { kind: 'nothing', message: `${where} already runs ${args.image}${fromDigest ? ` (${shortDigest(fromDigest)})` : ''}; nothing to do.` };
    }
    const repositoryNote =
      currentReference !== null && currentReference.repository !== wanted.repository
        ? [`⚠ another repository: ${currentReference.repository} → ${wanted.repository} (make sure it is the same PostgreSQL image family)`]
        : [];
    const serverLine = server !== null ? `PostgreSQL ${server.version} → ${wanted.version} (major ${wanted.major} both: the data directory is kept as it is)` : `PostgreSQL ${runningMajor} → ${wanted.version} (server not answering now)`;
    return planned(
      'image',
      `update the image of ${where} from ${current.image} to ${args.image}`,
      [
        `${where}, container ${target.container}`,
        `image ${current.image} (${shortDigest(fromDigest)}) → ${args.image}${wanted.digest ? '' : ' (digest: whatever the tag points at when pulled)'}`,
        serverLine,
        ...repositoryNote,
        restartWarning(current.replicas, current.strategy, pods),
        `if the new pod is not ready within ${formatDuration(ctx.config.rolloutTimeoutMs)}, ${current.image} is put back and its rollout followed`,
      ],
      {
        ...target,
        from: { image: current.image, digest: fromDigest },
        to: { image: args.image, digest: wanted.digest, version: wanted.version ?? '', major: wanted.major ?? runningMajor },
      },
    );
  },
});

export const imageAction: GatedAction<ImagePlan> = {
  action: 'image',
  plan: imagePlan,
  execute: (plan, ctx) => runImageProcedure(plan, ctx),
};
