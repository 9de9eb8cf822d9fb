/**
 * The approved `user rotate-password`, as the runbook's "Rotating Passwords" should have done it:
 * the Secret first (the previous password kept beside it), then the role, then proof, then the
 * applications restarted so that they read the new password. Each step is one row:
 *
 *   1. read the Secret and the role           nothing changes; the previous password is read
 *   2. write the new password to the Secret   undo: put the previous one back
 *   3. set the role's password                undo: set the previous one again
 *   4. prove the new password logs in and the previous one does not
 *   5. restart the deployments that read it   (dry run of every patch first: all or none)
 *   6. follow their rollouts
 *   7. remove KEY_PREVIOUS from the Secret
 *
 * The proof comes before the restarts, on purpose: a password the database does not accept must
 * never reach the applications, and until one is restarted, everything can still be undone. Once
 * an application runs with the new password, the undos leave the role and the Secret as they are
 * (going back would lock out the restarted pods) and the report says what to do instead.
 *
 * The password is generated here, sent to PostgreSQL only as a SCRAM-SHA-256 verifier, to
 * Kubernetes only inside the Secret's data, and scrubbed from every note; nothing spawns a
 * process. conclude() turns the state into the verdict, tested from states alone.
 *
 *   const outcome = await runPasswordRotation(plan, ctx); // procedureOutcome(report)
 */
import { PREVIOUS_KEY_SUFFIX } from '../managed-users-config.js';
import { createScrubber } from '../redact.js';
import { describeFailure, failure, networkProblem } from '../ops/failure.js';
import { kubeFailure } from '../ops/kube/kube-failure.js';
import { restartDeployment } from '../ops/kube/restart-deployment.js';
import { followRollout, type RolloutResult, type RolloutState } from '../ops/kube/rollout.js';
import { patchSecretData, readSecretKey } from '../ops/kube/secrets.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { acquireOperationLock, OperationRunningError } from '../ops/operation-lock.js';
import { generatePassword } from '../ops/postgres/generate-password.js';
import { passwordChangeProblem, readPasswordRights, setRoleVerifier, tryLogin } from '../ops/postgres/role-password.js';
import { scramSha256Verifier } from '../ops/postgres/scram-verifier.js';
import { markUserRotated } from '../state/created-users.js';
import { scrubReport } from './approval-engine.js';
import { procedureOutcome, type ActionOutcome, type ExecutionContext } from './gated.js';
import { runProcedure, type Conclusion, type Procedure, type RunRecord } from './procedure-runner.js';
import { recordStep, scrubStep } from './record-step.js';
import type { PasswordRotationPlan } from './user-plans.js';

export type SecretState = 'unchanged' | 'new' | 'restored' | 'cleaned' | 'unknown';
export type RoleChange = 'unchanged' | 'new' | 'restored' | 'unknown';

export interface Restart {
  namespace: string;
  name: string;
  /** The patch was accepted: its pods are being replaced by ones reading the new password. */
  requested: boolean;
  generation?: number;
  rollout?: Pick<RolloutResult, 'done' | 'state' | 'failure'>;
}

export interface RotationState {
  plan: PasswordRotationPlan;
  /** What the report needs to know of the world, without the passwords. */
  secret: SecretState;
  role: RoleChange;
  /** The Secret held a password under the key before (else there is nothing to go back to). */
  hadPrevious: boolean;
  proof: { newWorks?: boolean; previousRefused?: boolean; reason?: string };
  restarts: Restart[];
}

/** What only the steps see: the services and the two passwords. Never part of the report. */
interface Secrets {
  ctx: ExecutionContext;
  kube: Kube;
  password: string;
  previous: string | null;
  resourceVersion: string | undefined;
}

type Run = RotationState & { secrets: Secrets };

const previousKey = (plan: PasswordRotationPlan): string => `${plan.secret.key}${PREVIOUS_KEY_SUFFIX}`;
const secretName = (plan: PasswordRotationPlan): string => `${plan.secret.namespace}/${plan.secret.name}`;
const anyRestarted = (s: RotationState): boolean => s.restarts.some((r) => r.requested);

export async function runPasswordRotation(plan: PasswordRotationPlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  if (!ctx.kube) return { ok: false, summary: 'Kubernetes is not configured; nothing was changed', lines: [] };
  let lock;
  try {
    lock = await acquireOperationLock(ctx.state, { kind: 'password-rotation', by: ctx.approver });
  } catch (error) {
    if (!(error instanceof OperationRunningError)) throw error;
    return { ok: false, summary: `${error.message}; nothing was changed`, lines: [`Role ${plan.role}, the Secret ${secretName(plan)} and the applications: untouched.`, 'Run it again once the other operation has finished.'] };
  }
  const password = generatePassword();
  const state: Run = {
    plan,
    secret: 'unchanged',
    role: 'unchanged',
    hadPrevious: false,
    proof: {},
    restarts: plan.restart.map((r) => ({ namespace: r.namespace, name: r.name, requested: false })),
    secrets: { ctx, kube: ctx.kube, password, previous: null, resourceVersion: undefined },
  };
  // Built at each use: the previous password is known only once step 1 has read it.
  const scrub = (text: string): string => scrubPasswords(state.secrets, ctx)(text);
  try {
    const report = await runProcedure(passwordRotation, state, {
      progress: (text) => ctx.progress(scrub(text)),
      log: ctx.log,
      stop: lock.lost,
      reason: (error) => scrub(describeFailure(error)),
      onStep: (record, total) => recordStep(ctx, 'user-rotate-password', plan.role, scrubStep(record, scrub), total),
    });
    if (report.ok && plan.source === 'created') await markUserRotated(ctx.state, plan.role).catch((error: unknown) => ctx.log.warn({ err: error }, 'could not record the rotation'));
    // Notes are the procedure's own words, but a password must not slip out even through a mistake in them.
    return procedureOutcome(scrubReport(report, scrub));
  } finally {
    await lock.release();
  }
}

/** Every form of the two passwords a message could carry: plain, base64 (Secret data), URL-encoded. */
function scrubPasswords(secrets: Pick<Secrets, 'password' | 'previous'>, ctx: Pick<ExecutionContext, 'config'>): (text: string) => string {
  const values = [secrets.password, secrets.previous].filter((v): v is string => v !== null && v !== '');
  return createScrubber([...ctx.config.secrets, ...values, ...values.map((v) => Buffer.from(v, 'utf8').toString('base64'))]);
}

// Not ops/kube's kubeCall: a deadline of our own would race the client's abort, which tells
// outcomeUnknown that a patch may have been applied.
function kubeCall<T>(call: Promise<T>, what: string, notFound?: string): Promise<T> {
  return call.catch((error: unknown) => {
    throw kubeFailure(error, { what, notFound });
  });
}

/** A statement whose answer never came may or may not have been applied. */
function outcomeUnknown(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return networkProblem(error) !== undefined || /Connection terminated|Query read timeout|timeout/i.test(message);
}

export const passwordRotation: Procedure<Run> = {
  name: 'user-rotate-password',
  steps: [
    {
      title: 'read the Secret and the role',
      async run(s) {
        const { plan } = s;
        const { ctx, kube } = s.secrets;
        const rights = await readPasswordRights(ctx.db, plan.role);
        if (rights.target === null) throw failure(`there is no role ${plan.role} in the database any more`);
        const problem = passwordChangeProblem(rights);
        if (problem !== undefined) throw failure(problem);
        const current = await kubeCall(readSecretKey(kube, { ...plan.secret }), `read the Secret ${secretName(plan)}`, `the Secret ${secretName(plan)} does not exist`);
        s.secrets.previous = current.value;
        s.secrets.resourceVersion = current.resourceVersion;
        s.hadPrevious = current.value !== null && current.value !== '';
        return {
          title: `read the Secret ${secretName(plan)} and the role ${plan.role}`,
          note: s.hadPrevious ? `${plan.secret.key} holds the current password` : `${plan.secret.key} holds no password yet: it is added`,
        };
      },
    },
    {
      title: 'write the new password to the Secret',
      async run(s) {
        const { plan } = s;
        const { kube, password, previous, resourceVersion } = s.secrets;
        // The precondition makes a Secret changed by someone else since step 1 a conflict, not an overwrite.
        await kubeCall(
          patchSecretData(kube, plan.secret, { [plan.secret.key]: password, [previousKey(plan)]: previous }, { resourceVersion }),
          `change the Secret ${secretName(plan)}`,
        ).catch((error: unknown) => {
          // A patch without an answer may have been applied: the Secret is then in doubt.
          if (outcomeUnknown((error as { cause?: unknown }).cause ?? error)) s.secret = 'unknown';
          throw error;
        });
        s.secret = 'new';
        return {
          title: `write the new password to ${secretName(plan)} key ${plan.secret.key}`,
          note: previous === null ? 'no previous password to keep' : `the previous one kept under ${previousKey(plan)}`,
        };
      },
      undo: {
        title: 'put the previous password back into the Secret',
        async run(s) {
          const { plan } = s;
          if (anyRestarted(s)) return { status: 'skipped', note: 'left as it is: an application already restarted with the new password' };
          if (s.role === 'new' || s.role === 'unknown') return { status: 'skipped', note: `left as it is: the role ${s.role === 'new' ? 'has' : 'may have'} the new password, which would otherwise be lost` };
          const { kube, previous } = s.secrets;
          await kubeCall(patchSecretData(kube, plan.secret, { [plan.secret.key]: previous, [previousKey(plan)]: null }), `change the Secret ${secretName(plan)}`);
          s.secret = 'restored';
          return { note: previous === null ? `${plan.secret.key} removed again` : `${plan.secret.key} holds the previous password again` };
        },
      },
    },
    {
      title: "set the role's password",
      async run(s) {
        const { plan } = s;
        const { ctx, password } = s.secrets;
        const verifier = await scramSha256Verifier(password);
        try {
          await setRoleVerifier(ctx.db, plan.role, verifier);
        } catch (error) {
          if (outcomeUnknown(error)) s.role = 'unknown';
          throw error;
        }
        s.role = 'new';
        return { title: `set the password of the role ${plan.role}`, note: 'sent as a SCRAM-SHA-256 verifier' };
      },
      undo: {
        title: 'set the previous password on the role again',
        async run(s) {
          const { plan } = s;
          const { ctx, previous } = s.secrets;
          if (anyRestarted(s)) return { status: 'skipped', note: 'left as it is: an application already restarted with the new password' };
          if (previous === null || previous === '') return { status: 'skipped', note: 'there was no previous password to go back to; the role keeps the new one' };
          await setRoleVerifier(ctx.db, plan.role, await scramSha256Verifier(previous));
          s.role = 'restored';
        },
      },
    },
    {
      title: 'prove the new password logs in and the previous one does not',
      async run(s) {
        const { plan } = s;
        const { ctx, password, previous } = s.secrets;
        const fresh = await tryLogin(ctx.databaseUrl, { user: plan.role, password, timeoutMs: ctx.config.timeouts.connectMs });
        s.proof.newWorks = fresh.ok;
        if (!fresh.ok) throw failure(`a login as ${plan.role} with the new password failed: ${fresh.reason}`);
        if (previous === null || previous === '') return { note: 'the new password logs in; there was no previous one to try' };
        const old = await tryLogin(ctx.databaseUrl, { user: plan.role, password: previous, timeoutMs: ctx.config.timeouts.connectMs });
        s.proof.previousRefused = !old.ok;
        if (old.ok) {
          s.proof.reason = 'the server accepts the previous password too';
          return {
            status: 'differs',
            note: `the new password logs in, but so does the previous one: the server does not check ${plan.role}'s password from the bot's address (a trust line in pg_hba.conf?)`,
          };
        }
        return { note: `the new password logs in; the previous one is refused (${old.reason})` };
      },
    },
    {
      title: 'restart the deployments that read the password',
      async run(s, step) {
        const { kube, ctx } = s.secrets;
        if (s.restarts.length === 0) return { status: 'skipped', note: 'no deployment reads this Secret key' };
        const at = ctx.now();
        // Every patch is tried as a dry run first: either all restart, or none does and all can be undone.
        for (const r of s.restarts) {
          await kubeCall(restartDeployment(kube, r, at, { dryRun: true }), `restart the deployment ${r.namespace}/${r.name}`, `the deployment ${r.namespace}/${r.name} does not exist`);
        }
        for (const r of s.restarts) {
          await step.progress(`restarting ${r.namespace}/${r.name}…`);
          const { generation } = await kubeCall(restartDeployment(kube, r, at), `restart the deployment ${r.namespace}/${r.name}`, `the deployment ${r.namespace}/${r.name} does not exist`);
          r.requested = true;
          r.generation = generation;
        }
        return { title: `restart ${s.restarts.map((r) => `${r.namespace}/${r.name}`).join(', ')}` };
      },
    },
    {
      title: 'follow the rollouts',
      async run(s, step) {
        const { kube, ctx } = s.secrets;
        if (s.restarts.length === 0) return { status: 'skipped', note: 'nothing was restarted' };
        const details: string[] = [];
        for (const r of s.restarts) {
          const where = `${r.namespace}/${r.name}`;
          r.rollout = await followRollout(kube, { namespace: r.namespace, deployment: r.name }, {
            generation: r.generation ?? 0,
            timeoutMs: ctx.config.rolloutTimeoutMs,
            signal: step.signal,
            what: `follow the rollout of ${where}`,
            onProgress: (st) => step.progress(`rolling out ${where}: ${st.updated}/${st.desired} updated, ${st.available} available`),
          });
          details.push(`   ${where}: ${rolloutText(r.rollout.state)}${r.rollout.done ? '' : ' — NOT complete'}`);
        }
        const stuck = s.restarts.filter((r) => r.rollout?.done === false);
        if (stuck.length > 0) {
          const names = stuck.map((r) => `${r.namespace}/${r.name}`).join(', ');
          // A deployment past its progress deadline is not waited for any longer (kubectl rollout status gives up too).
          if (stuck.every((r) => r.rollout?.failure === 'deadline')) throw failure(`the rollout of ${names} exceeded its progress deadline`);
          throw failure(`the rollout of ${names} did not complete within ${Math.round(ctx.config.rolloutTimeoutMs / 1000)}s`);
        }
        return { details };
      },
    },
    {
      title: 'remove the previous password from the Secret',
      async run(s) {
        const { plan } = s;
        const { kube } = s.secrets;
        await kubeCall(patchSecretData(kube, plan.secret, { [previousKey(plan)]: null }), `change the Secret ${secretName(plan)}`);
        s.secret = 'cleaned';
        return { title: `remove ${previousKey(plan)} from ${secretName(plan)}` };
      },
    },
  ],
  conclude: (s, record) => concludeRotation(s, record),
};

function rolloutText(state: RolloutState): string {
  return `${state.updated}/${state.desired} updated, ${state.available} available${state.total > state.updated ? `, ${state.total - state.updated} old still running` : ''}`;
}

/** The verdict, the state of the role, the Secret and each application, and what to run next. */
export function concludeRotation(s: RotationState, record: RunRecord): Conclusion {
  const { plan } = s;
  const where = secretName(plan);
  const key = plan.secret.key;
  const prev = previousKey(plan);
  const rerun = `\`user rotate-password ${plan.role}\``;
  const removePrevious = `kubectl -n ${plan.secret.namespace} patch secret ${plan.secret.name} --type merge -p '{"data":{"${prev}":null}}'`;

  const roleLine = {
    unchanged: `Role ${plan.role}: unchanged (the previous password)`,
    new: `Role ${plan.role}: the new password (SCRAM-SHA-256)`,
    restored: `Role ${plan.role}: back to the previous password`,
    unknown: `Role ${plan.role}: UNKNOWN — the database did not confirm the change`,
  }[s.role];
  const secretLine = {
    unchanged: `Secret ${where}: unchanged`,
    new: `Secret ${where}: ${key} holds the new password; the previous one is still under ${prev}`,
    restored: `Secret ${where}: back to the previous password (${prev} removed)`,
    cleaned: `Secret ${where}: ${key} holds the new password`,
    unknown: `Secret ${where}: UNKNOWN — Kubernetes did not confirm the change`,
  }[s.secret];
  const appLines = plan.restart.length === 0
    ? ['Applications: none restarted (no deployment reads this key)']
    : s.restarts.map((r) => `Application ${r.namespace}/${r.name}: ${appState(r, s)}`);
  const endState = [roleLine, secretLine, ...appLines, ...plan.notRestarted.map((n) => `Not restarted: ${n.what}`)];

  if (record.failed === undefined && record.stopped === undefined) {
    const refused = s.proof.previousRefused === false;
    const restarted = s.restarts.length === 0 ? 'no deployment needed a restart' : `${s.restarts.map((r) => `${r.namespace}/${r.name}`).join(', ')} restarted`;
    return {
      ok: !refused,
      summary: refused
        ? `rotated the password of ${plan.role}, but the database still accepts the previous one: it does not check this role's password from the bot's address`
        : `rotated the password of ${plan.role}: the role and the Secret hold the new one, ${restarted}, the new password logs in${s.hadPrevious ? ' and the previous one is refused' : ''}`,
      endState,
      next: [
        ...(refused ? ["Check pg_hba.conf: a trust (or peer) line lets this role in without its password; use scram-sha-256."] : []),
        ...plan.notRestarted.filter((n) => n.byHand).map((n) => `Restart by hand what still reads the previous password: ${n.what}`),
      ],
    };
  }

  const failedAt = record.failed?.number;
  const next: string[] = [];
  if (record.stopped !== undefined && record.failed === undefined) next.push(`The rotation was stopped (${record.stopped}); check the state above before running ${rerun} again.`);
  if (s.role === 'unknown' || s.secret === 'unknown') {
    next.push(`Run ${rerun} again: it sets one new password on both the role and the Secret.`);
  } else if (!anyRestarted(s) && (s.role === 'unchanged' || s.role === 'restored') && (s.secret === 'unchanged' || s.secret === 'restored')) {
    next.push(`Nothing is left changed: fix the cause${record.failed ? ` (${record.failed.reason})` : ''} and run ${rerun} again.`);
  } else if (failedAt === 6 || failedAt === 5) {
    const stuck = s.restarts.filter((r) => r.requested && r.rollout?.done !== true);
    for (const r of stuck) next.push(`Look at ${r.namespace}/${r.name}: \`kubectl -n ${r.namespace} rollout status deploy/${r.name}\`, \`events\`; its new pods have the new password, which the database accepts.`);
    const notStarted = s.restarts.filter((r) => !r.requested);
    if (notStarted.length > 0) next.push(`Restart ${notStarted.map((r) => `${r.namespace}/${r.name}`).join(', ')} by hand (\`kubectl rollout restart\`): ${notStarted.length === 1 ? 'it still runs' : 'they still run'} with the previous password, which the database no longer accepts for new connections.`);
    next.push(`Once the applications run, remove the previous password: ${removePrevious}`);
  } else if (failedAt === 7) {
    next.push(`Everything else is done; remove the previous password by hand: ${removePrevious}`);
  } else {
    next.push(`Compare the state above with what the applications use, and run ${rerun} again to bring the role and the Secret together.`);
  }
  return {
    ok: false,
    summary: record.failed ? `FAILED at step ${record.failed.number} (${record.failed.title}): ${record.failed.reason}` : `stopped: ${record.stopped ?? ''}`,
    endState,
    next,
  };
}

function appState(r: Restart, s: RotationState): string {
  if (r.rollout?.done) return `restarted, every replica reads the new password (${rolloutText(r.rollout.state)})`;
  if (r.rollout) return `restart requested, rollout NOT complete (${rolloutText(r.rollout.state)})`;
  if (r.requested) return 'restart requested, rollout not followed';
  const stale = s.role === 'new' ? ', which the database no longer accepts for new connections' : '';
  return `not restarted: still runs with the previous password${stale}`;
}
