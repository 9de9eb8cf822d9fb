/**
 * The approved image update, as the runbook's "Applying Security Patches" does it by hand, as a
 * table of steps:
 *
 *   1. the deployment still runs the approved-from image
 *   2. set the image                 ↩ put the previous image back, follow that rollout, server answers
 *   3. follow the rollout             (ROLLOUT_TIMEOUT: a new pod that is not ready by then fails it)
 *   4. the new pod runs the new image (its imageID; the digest asked for, if one was)
 *   5. the server answers, with the server_version the tag names
 */
import { formatDuration } from '../duration.js';
import { failure } from '../ops/failure.js';
import { patchDatabaseContainer, readDatabaseDeployment } from '../ops/kube/database-deployment.js';
import type { DatabasePod } from '../ops/kube/database-pods.js';
import { digestOf, shortDigest } from '../ops/kube/image-reference.js';
import { readServerVersion, type ServerVersion } from '../ops/postgres/server-version.js';
import { currentPods, databaseChange, followDatabaseRollout, rolloutFailure, serverBack, startDuration, type DatabaseChange } from './database-change.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import type { ImagePlan } from './image-plan.js';
import { runLockedProcedure } from './locked-procedure.js';
import type { Procedure } from './procedure-runner.js';

interface ImageState {
  plan: ImagePlan;
  change: DatabaseChange;
  patched: boolean;
  generation?: number;
  rolloutMs?: number;
  newPod?: DatabasePod;
  newDigest?: string | null;
  server?: ServerVersion;
  serverProblem?: string;
  /** The rollback, when the new pod was not ready in time. */
  undo?: { ok: boolean; note: string; digest?: string | null };
}

function containerOf(pod: DatabasePod, name: string) {
  return pod.containers.find((c) => c.name === name);
}

export const imageProcedure: Procedure<ImageState> = {
  name: 'image',
  steps: [
    {
      title: 'the deployment runs the approved-from image',
      run: async (s) => {
        const now = await readDatabaseDeployment(s.change.kube, s.change.target);
        if (now.image !== s.plan.from.image) {
          throw failure(`the container's image changed since the request (now ${now.image}, approved from ${s.plan.from.image}): request the update again`);
        }
        return { note: `${now.image} (${shortDigest(s.plan.from.digest)})` };
      },
    },
    {
      title: 'set the image',
      run: async (s) => {
        const { generation } = await patchDatabaseContainer(s.change.kube, s.change.target, { image: s.plan.to.image });
        s.patched = true;
        s.generation = generation;
        return { title: `set the image ${s.plan.from.image} → ${s.plan.to.image}`, note: `generation ${generation}` };
      },
      undo: {
        title: 'put the previous image back',
        run: async (s, step) => {
          try {
            const { generation } = await patchDatabaseContainer(s.change.kube, s.change.target, { image: s.plan.from.image });
            const rollout = await followDatabaseRollout(s.change, generation, step.progress);
            if (!rollout.done) throw failure(`${s.plan.from.image} is set again but ${await rolloutFailure(s.change, rollout)}`);
            const pod = (await currentPods(s.change)).find((p) => containerOf(p, s.plan.container)?.image === s.plan.from.image);
            const digest = digestOf(pod ? containerOf(pod, s.plan.container)?.imageId : null);
            const back = await serverBack(s.change);
            const server = back.ok ? 'the server answers' : `the server does not answer (${back.reason ?? 'no answer'})`;
            const note = `rolled out in ${formatDuration(rollout.tookMs)}, pod ${pod?.name ?? '?'} ready (${shortDigest(digest)}), ${server}`;
            s.undo = { ok: back.ok, note, digest };
            return { title: `put ${s.plan.from.image} back`, status: back.ok ? 'ok' : 'differs', note };
          } catch (error) {
            s.undo = { ok: false, note: error instanceof Error ? error.message : String(error) };
            throw error;
          }
        },
      },
    },
    {
      title: 'follow the rollout',
      run: async (s, step) => {
        const rollout = await followDatabaseRollout(s.change, s.generation ?? 0, step.progress);
        if (!rollout.done) throw failure(await rolloutFailure(s.change, rollout));
        s.rolloutMs = rollout.tookMs;
        return { note: `${rollout.message} in ${formatDuration(rollout.tookMs)}` };
      },
    },
    {
      title: 'the new pod runs the new image',
      run: async (s) => {
        const pods = await currentPods(s.change);
        const pod = pods.find((p) => p.readyContainers === p.totalContainers && containerOf(p, s.plan.container)?.image === s.plan.to.image);
        if (pod === undefined) throw failure(`no ready pod of ${s.plan.deployment} runs ${s.plan.to.image} (pods: ${pods.map((p) => p.name).join(', ') || 'none'})`);
        s.newPod = pod;
        s.newDigest = digestOf(containerOf(pod, s.plan.container)?.imageId);
        const took = startDuration(pod);
        const note = `imageID ${shortDigest(s.newDigest)} (was ${shortDigest(s.plan.from.digest)})${took === null ? '' : `, created to ready in ${formatDuration(took)}`}`;
        if (s.plan.to.digest !== null && s.newDigest !== s.plan.to.digest) {
          return { title: `pod ${pod.name} is ready`, status: 'differs', note: `${note} — not the digest asked for (${shortDigest(s.plan.to.digest)})` };
        }
        if (s.plan.from.digest !== null && s.newDigest === s.plan.from.digest) {
          return { title: `pod ${pod.name} is ready`, status: 'differs', note: `${note} — the same image as before: the new tag points at the old digest` };
        }
        return { title: `pod ${pod.name} is ready`, note };
      },
    },
    {
      title: 'the server answers with the new version',
      run: async (s) => {
        const back = await serverBack(s.change);
        if (!back.ok) {
          s.serverProblem = `it did not answer SELECT 1 within ${formatDuration(back.tookMs)} (${back.reason ?? 'no answer'})`;
          return { status: 'differs', note: s.serverProblem };
        }
        s.server = await readServerVersion(s.change.db);
        const wanted = s.plan.to.version;
        // A tag of a whole version (15.8) must be what the server says; a major-only tag (15) just its major.
        const matches = wanted.includes('.') ? s.server.version === wanted : s.server.major === s.plan.to.major;
        if (!matches) {
          s.serverProblem = `server_version is ${s.server.version}, the image's tag says ${wanted}: is DATABASE_URL the database of this deployment?`;
          return { title: `server_version ${s.server.version}`, status: 'differs', note: s.serverProblem };
        }
        return { title: `server_version ${s.server.version}`, note: 'SELECT 1 answered' };
      },
    },
  ],
  conclude(s, record) {
    const where = `${s.plan.namespace}/${s.plan.deployment}`;
    const from = `${s.plan.from.image} (${shortDigest(s.plan.from.digest)})`;
    if (record.stopped) {
      return {
        ok: false,
        summary: `stopped: ${record.stopped}`,
        endState: [s.patched ? `Image: ${s.plan.to.image} set; its rollout was not followed to its end` : `Image: unchanged, ${from}`],
        next: ['Check `status` and `events`.'],
      };
    }
    if (record.failed) {
      const { number, reason } = record.failed;
      if (!s.patched) return { ok: false, summary: `nothing was changed: ${reason}`, endState: [`Image: unchanged, ${from}`] };
      if (s.undo?.ok) {
        return {
          ok: false,
          summary: `FAILED, rolled back: ${reason}; ${s.plan.from.image} was put back and runs again`,
          endState: [`Image: ${s.plan.from.image} again (${shortDigest(s.undo.digest ?? null)}) — ${s.plan.to.image} was rolled back`, `Rollback: ${s.undo.note}`],
          next: [`Find out why ${s.plan.to.image} did not start (\`events\`, \`logs --previous\`) before trying it again.`],
        };
      }
      return {
        ok: false,
        summary: `FAILED at step ${number}: ${reason}; putting ${s.plan.from.image} back did not bring the database back either`,
        endState: [`Image: ${s.undo ? s.plan.from.image : s.plan.to.image} set`, `Rollback: ${s.undo?.note ?? 'not attempted'}`],
        next: [`Check \`status\` and \`events\` now: ${where} may be down.`],
      };
    }
    const differs = record.steps.some((step) => step.status === 'differs');
    const version = s.server ? `PostgreSQL ${s.server.version}` : 'the server not answering';
    return {
      ok: !differs,
      summary: `${where} runs ${s.plan.to.image} (${shortDigest(s.newDigest ?? null)}), ${version}${s.serverProblem ? ` — ${s.serverProblem}` : ''}`,
      endState: [
        `Image: ${s.plan.to.image}, imageID ${shortDigest(s.newDigest ?? null)} (was ${from})`,
        `Pod: ${s.newPod?.name ?? '?'} ready`,
        `Server: ${s.server ? `server_version ${s.server.version}` : (s.serverProblem ?? 'unknown')}`,
      ],
    };
  },
};

export async function runImageProcedure(plan: ImagePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  const change = databaseChange(ctx, plan);
  if (change === null) return { ok: false, summary: 'Kubernetes is not configured; nothing was done', lines: [] };
  const state: ImageState = { plan, change, patched: false };
  return runLockedProcedure(ctx, { kind: 'image', procedure: imageProcedure, state, untouched: [`Image: unchanged, ${plan.from.image}`] });
}
