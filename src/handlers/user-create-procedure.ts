/**
 * The approved `user create`, as the runbook's "Creating Application Users" without a password on
 * a command line. The role and its grants are made in one transaction that stays open until the
 * password is safely in its new Secret, so a Secret that cannot be created leaves no role behind:
 *
 *   1. create the role and its grants      (one transaction, not committed yet)   undo: roll back
 *   2. store the password in a new Secret  (the bot may create Secrets, never delete them)
 *   3. commit the role
 *   4. remember the user, for `user rotate-password`
 *   5. prove the password logs in
 *
 * The password goes to PostgreSQL only as a SCRAM-SHA-256 verifier and to Kubernetes only inside
 * the Secret's data; no process is spawned.
 *
 *   const outcome = await runUserCreate(plan, ctx);
 */
import pg from 'pg';
import { createScrubber } from '../redact.js';
import { describeFailure, failure, networkProblem } from '../ops/failure.js';
import { kubeFailure } from '../ops/kube/kube-failure.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { createSecret } from '../ops/kube/secrets.js';
import { generatePassword } from '../ops/postgres/generate-password.js';
import { trackBotSession } from '../ops/postgres/bot-sessions.js';
import { createRoleStatement, loginRoleStatements, privilegesFor } from '../ops/postgres/login-role-grants.js';
import { tryLogin } from '../ops/postgres/role-password.js';
import { scramSha256Verifier } from '../ops/postgres/scram-verifier.js';
import { rememberCreatedUser } from '../state/created-users.js';
import { scrubReport } from './approval-engine.js';
import { procedureOutcome, type ActionOutcome, type ExecutionContext } from './gated.js';
import { recordStep, scrubStep } from './record-step.js';
import { runProcedure, type Conclusion, type Procedure, type RunRecord } from './procedure-runner.js';
import type { UserCreatePlan } from './user-plans.js';

export interface UserCreateState {
  plan: UserCreatePlan;
  role: 'none' | 'uncommitted' | 'rolled-back' | 'created' | 'unknown';
  secret: 'none' | 'created' | 'unknown';
  remembered: boolean;
  loginWorks?: boolean;
}

interface Secrets {
  ctx: ExecutionContext;
  kube: Kube;
  password: string;
  session: pg.Client | null;
  /** WARNINGs the server sent, e.g. "no privileges were granted for …". */
  warnings: string[];
}

type Run = UserCreateState & { secrets: Secrets };

const SESSION_NAME = 'recipedb-ops user create';
// The transaction waits for the Secret: longer than one Kubernetes call may take.
const SESSION_TIMEOUT_MS = 60_000;

export async function runUserCreate(plan: UserCreatePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  if (!ctx.kube) return { ok: false, summary: 'Kubernetes is not configured; nothing was created', lines: [] };
  const state: Run = {
    plan,
    role: 'none',
    secret: 'none',
    remembered: false,
    secrets: { ctx, kube: ctx.kube, password: generatePassword(), session: null, warnings: [] },
  };
  const password = state.secrets.password;
  const scrub = createScrubber([...ctx.config.secrets, password, Buffer.from(password, 'utf8').toString('base64')]);
  try {
    const report = await runProcedure(userCreate, state, {
      progress: (text) => ctx.progress(scrub(text)),
      log: ctx.log,
      reason: (error) => scrub(describeFailure(error)),
      onStep: (record, total) => recordStep(ctx, 'user-create', plan.role, scrubStep(record, scrub), total),
    });
    return procedureOutcome(scrubReport(report, scrub));
  } finally {
    // An uncommitted transaction ends with its session: the role is then not created.
    await state.secrets.session?.end().catch(() => undefined);
  }
}

const secretWhere = (plan: UserCreatePlan): string => `${plan.secret.namespace}/${plan.secret.name}`;

export const userCreate: Procedure<Run> = {
  name: 'user-create',
  steps: [
    {
      title: 'create the role and its grants',
      async run(s) {
        const { plan } = s;
        const { ctx, password, warnings } = s.secrets;
        const session = new pg.Client({
          connectionString: ctx.databaseUrl,
          application_name: SESSION_NAME,
          connectionTimeoutMillis: ctx.config.timeouts.connectMs,
          statement_timeout: ctx.config.timeouts.statementMs,
          idle_in_transaction_session_timeout: SESSION_TIMEOUT_MS,
        });
        session.on('error', () => undefined);
        session.on('notice', (notice) => {
          if (notice.severity === 'WARNING') warnings.push(notice.message ?? 'a warning');
        });
        s.secrets.session = session;
        await session.connect();
        await trackBotSession(session);
        await session.query('BEGIN');
        s.role = 'uncommitted';
        await session.query(createRoleStatement(plan.role, await scramSha256Verifier(password)));
        for (const statement of loginRoleStatements({ role: plan.role, readOnly: plan.readOnly, database: plan.database, schemas: plan.schemas })) {
          await session.query(statement);
          // A GRANT the bot may not make is only a WARNING: it would create a role with less than it was approved for.
          if (warnings.length > 0) throw failure(`PostgreSQL granted less than planned (${warnings[0] ?? ''}); nothing was created`);
        }
        const { tables } = privilegesFor(plan.readOnly);
        return {
          title: `create the role ${plan.role} and its grants`,
          note: `${tables.join(', ')} on ${plan.schemas.map((x) => x.schema).join(', ')}, also on tables created later; not committed until the Secret exists`,
        };
      },
      undo: {
        title: 'roll back: no role is created',
        async run(s) {
          if (s.role !== 'uncommitted') return { status: 'skipped', note: s.role === 'created' ? 'kept: the role was already committed' : 'nothing to roll back' };
          await s.secrets.session?.query('ROLLBACK');
          s.role = 'rolled-back';
        },
      },
    },
    {
      title: 'store the password in a new Secret',
      async run(s) {
        const { plan } = s;
        const { ctx, kube, password } = s.secrets;
        try {
          await createSecret(kube, {
            namespace: plan.secret.namespace,
            name: plan.secret.name,
            data: { [plan.secret.usernameKey]: plan.role, [plan.secret.passwordKey]: password },
            labels: { 'app.kubernetes.io/managed-by': 'recipedb-ops' },
            annotations: { 'recipedb-ops/role': plan.role, 'recipedb-ops/request': ctx.requestId },
          });
        } catch (error) {
          if (networkProblem(error) !== undefined || (error as { name?: string }).name === 'AbortError') s.secret = 'unknown';
          if ((error as { code?: unknown }).code === 409) {
            throw failure(`a Secret named ${secretWhere(plan)} already exists, and the bot never overwrites one: nothing was created`, error);
          }
          throw kubeFailure(error, {
            what: `create the Secret ${secretWhere(plan)}`,
            notFound: `the namespace ${plan.secret.namespace} does not exist`,
          });
        }
        s.secret = 'created';
        return { title: `store the password in the new Secret ${secretWhere(plan)}`, note: `keys ${plan.secret.usernameKey} and ${plan.secret.passwordKey}` };
      },
    },
    {
      title: 'commit the role',
      async run(s) {
        try {
          await s.secrets.session?.query('COMMIT');
        } catch (error) {
          s.role = networkProblem(error) !== undefined || /Connection terminated|timeout/i.test(String((error as Error).message)) ? 'unknown' : 'rolled-back';
          throw error;
        }
        s.role = 'created';
        return { title: `commit the role ${s.plan.role}` };
      },
    },
    {
      title: 'remember the user for password rotation',
      async run(s) {
        const { plan } = s;
        const { ctx } = s.secrets;
        await rememberCreatedUser(ctx.state, {
          role: plan.role,
          namespace: plan.secret.namespace,
          secret: plan.secret.name,
          key: plan.secret.passwordKey,
          readOnly: plan.readOnly,
          createdBy: ctx.requester,
          approvedBy: ctx.approver,
          requestId: ctx.requestId,
        });
        s.remembered = true;
      },
    },
    {
      title: 'prove the password logs in',
      async run(s) {
        const { ctx, password } = s.secrets;
        const login = await tryLogin(ctx.databaseUrl, { user: s.plan.role, password, timeoutMs: ctx.config.timeouts.connectMs });
        s.loginWorks = login.ok;
        if (!login.ok) throw failure(`a login as ${s.plan.role} with its password failed: ${login.reason}`);
        return { note: `logged in as ${s.plan.role} and out again` };
      },
    },
  ],
  conclude: (s, record) => concludeUserCreate(s, record),
};

export function concludeUserCreate(s: UserCreateState, record: RunRecord): Conclusion {
  const { plan } = s;
  const where = secretWhere(plan);
  const schemas = plan.schemas.map((x) => x.schema).join(', ');
  const kind = plan.readOnly ? 'read-only: SELECT' : 'read-write: SELECT, INSERT, UPDATE, DELETE';
  const roleLine = {
    none: `Role ${plan.role}: not created`,
    uncommitted: `Role ${plan.role}: not created (its transaction was never committed)`,
    'rolled-back': `Role ${plan.role}: not created (rolled back)`,
    created: `Role ${plan.role}: created, LOGIN, ${kind} on the tables of ${schemas} (also on tables created later)`,
    unknown: `Role ${plan.role}: UNKNOWN — the database did not confirm the commit`,
  }[s.role];
  const secretLine = {
    none: `Secret ${where}: not created`,
    created: s.role === 'created' || s.role === 'unknown'
      ? `Secret ${where}: created, keys ${plan.secret.usernameKey} and ${plan.secret.passwordKey} (the password is never shown)`
      : `Secret ${where}: created, but it holds the password of a role that does not exist`,
    unknown: `Secret ${where}: UNKNOWN — Kubernetes did not confirm it was created`,
  }[s.secret];
  const endState = [roleLine, secretLine];
  const rbac = `To let \`user rotate-password ${plan.role}\` change the Secret later, add ${plan.secret.name} to the resourceNames of the Secrets rule in deploy/rbac-database.yaml and \`kubectl apply -k deploy/\` (the bot may create Secrets, but change only those it is named).`;
  const rerun = `\`user create ${plan.role}${plan.readOnly ? ' --read-only' : ''}\``;
  const use = `Give the application the Secret: env valueFrom.secretKeyRef { name: ${plan.secret.name}, key: ${plan.secret.passwordKey} } in a pod of ${plan.secret.namespace}.`;

  if (record.failed === undefined && record.stopped === undefined) {
    return {
      ok: true,
      summary: `created the login role ${plan.role} (${plan.readOnly ? 'read-only' : 'read-write'} on ${schemas}); its password is in the Secret ${where}`,
      endState: [...endState, `Rotation: \`user rotate-password ${plan.role}\` (remembered by the bot)`],
      next: [use, rbac],
    };
  }
  const next: string[] = [];
  if (s.role === 'created') {
    if (!s.remembered) next.push(`The bot could not remember ${plan.role}: to rotate it, add ${plan.role}=${plan.secret.namespace}/${plan.secret.name}/${plan.secret.passwordKey} to MANAGED_USERS.`);
    if (s.loginWorks === false) next.push(`Check pg_hba.conf and the role's CONNECT grant: the role and its Secret exist, but its login failed.`);
    next.push(use);
  } else if (s.role === 'unknown') {
    next.push(`Check with \`users\` whether ${plan.role} exists; if it does not, delete the Secret (kubectl -n ${plan.secret.namespace} delete secret ${plan.secret.name}) and run ${rerun} again.`);
  } else if (s.secret === 'created' || s.secret === 'unknown') {
    next.push(`Delete the Secret the bot could not use (kubectl -n ${plan.secret.namespace} delete secret ${plan.secret.name}), then run ${rerun} again.`);
  } else {
    next.push(`Nothing was created: fix the cause${record.failed ? ` (${record.failed.reason})` : ''} and run ${rerun} again.`);
  }
  return {
    ok: false,
    summary: record.failed ? `FAILED at step ${record.failed.number} (${record.failed.title}): ${record.failed.reason}` : `stopped: ${record.stopped ?? ''}`,
    endState,
    next,
  };
}
