/**
 * `user create <name> [--read-only]` and `user rotate-password <name>` (SPEC section 11), both
 * gated. `run` is the read-only plan: it checks everything it can before anyone is asked to
 * approve (the name, the role, the bot's own rights in PostgreSQL, the Secret and the RBAC to
 * change it, the deployments that read it, each restart as a dry run) and names the exact
 * targets. The executors (user-create-procedure.ts, password-rotation-procedure.ts) run the plan.
 * Bad input gets one sentence and changes nothing.
 */
import { z } from 'zod';
import { PREVIOUS_KEY_SUFFIX } from '../managed-users-config.js';
import { kubeFailure } from '../ops/kube/kube-failure.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { restartDeployment } from '../ops/kube/restart-deployment.js';
import { findSecretConsumers } from '../ops/kube/secret-consumers.js';
import { checkSecretPatchable, createSecret, readSecretKey } from '../ops/kube/secrets.js';
import { planLoginRoleGrants, privilegesFor } from '../ops/postgres/login-role-grants.js';
import { passwordChangeProblem, readPasswordRights } from '../ops/postgres/role-password.js';
import { isRoleName, newRoleNameProblem } from '../ops/postgres/role-name.js';
import { applicationSchemas } from './application-schemas.js';
import { CREATED_USER_KEYS, createdUserSecretName } from './created-user-secret.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { runPasswordRotation } from './password-rotation-procedure.js';
import { Refusal } from './refusal.js';
import { findRotationTarget, rotatableRoles, type RotationTarget } from './rotation-target.js';
import { runUserCreate } from './user-create-procedure.js';
import { passwordRotationPlan, userCreatePlan, type PasswordRotationPlan, type UserCreatePlan } from './user-plans.js';

type UserArgs = { action: 'create'; name: string; readOnly: boolean } | { action: 'rotate-password'; name: string };

const USAGE_PROBLEM = 'takes `create <name> [--read-only]` or `rotate-password <name>`';

const userArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])) })
  .transform((raw, ctx): UserArgs => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    const [sub, name, ...rest] = raw.positional;
    const action = sub?.toLowerCase();
    if (action !== 'create' && action !== 'rotate-password') return fail(USAGE_PROBLEM);
    if (name === undefined || name === '') return fail(`${action} needs a role name`);
    if (rest.length > 0) return fail(`${action} takes one role name (quote nothing: role names have no spaces)`);
    const flags = Object.keys(raw.flags);
    if (action === 'rotate-password') {
      if (flags.length > 0) return fail(`rotate-password takes no options (not --${flags[0] ?? ''})`);
      return { action, name };
    }
    const unknown = flags.find((f) => f !== 'read-only');
    if (unknown !== undefined) return fail(`create does not take --${unknown} (only --read-only)`);
    if (raw.flags['read-only'] !== undefined && raw.flags['read-only'] !== true) return fail('--read-only takes no value');
    return { action, name, readOnly: raw.flags['read-only'] === true };
  });

export const userHandler = defineHandler({
  name: 'user',
  usage: 'user create <name> [--read-only] · user rotate-password <name>',
  summary: 'a new login role with a generated password in a new Secret; or a new password for a managed role, its Secret and the applications that read it',
  gated: true,
  args: userArgs,
  async run(args, ctx): Promise<GatedResult<UserCreatePlan | PasswordRotationPlan>> {
    return args.action === 'create' ? planCreate(args.name, args.readOnly, ctx) : planRotation(args.name, ctx);
  },
});

export const userCreateAction: GatedAction<UserCreatePlan> = {
  action: 'user-create',
  plan: userCreatePlan,
  execute: (plan, ctx) => runUserCreate(plan, ctx),
};

export const userRotatePasswordAction: GatedAction<PasswordRotationPlan> = {
  action: 'user-rotate-password',
  plan: passwordRotationPlan,
  execute: (plan, ctx) => runPasswordRotation(plan, ctx),
};

const NOTHING = 'Nothing was changed.';

function requireKube(ctx: HandlerContext, why: string): Kube {
  if (!ctx.kube) throw new Refusal(`Kubernetes is not configured (set KUBECONFIG, or run the bot in the cluster): ${why}. ${NOTHING}`);
  return ctx.kube;
}

async function planCreate(name: string, readOnly: boolean, ctx: HandlerContext): Promise<GatedResult<UserCreatePlan>> {
  const problem = newRoleNameProblem(name);
  if (problem !== undefined) throw new Refusal(`Cannot create it: ${problem}. ${NOTHING}`);
  const rights = await readPasswordRights(ctx.db, name);
  if (rights.target !== null) throw new Refusal(`The role \`${name}\` already exists: \`user create\` makes new roles only${(await findRotationTarget(ctx, name)) ? `; \`user rotate-password ${name}\` gives it a new password` : ''}. ${NOTHING}`);
  if (rights.caseTwins.length > 0) {
    throw new Refusal(`A role named ${rights.caseTwins.map((t) => `"${t}"`).join(', ')} exists, differing from \`${name}\` only in case: choose a name nobody can confuse with it. ${NOTHING}`);
  }
  const kube = requireKube(ctx, 'the password could not be stored in a Secret');
  const schemas = applicationSchemas(ctx.config);
  const grants = await planLoginRoleGrants(ctx.db, { role: name, schemas, readOnly });
  if (grants.problems.length > 0) throw new Refusal(`Cannot create \`${name}\`: ${grants.problems.join('; ')}. ${NOTHING}`);
  const namespace = ctx.config.database.namespace;
  const secret = createdUserSecretName(name);
  // A dry run is authorized and validated like the real create (RBAC, the namespace), and changes nothing.
  await kubeCheck(
    createSecret(kube, { namespace, name: secret, data: { [CREATED_USER_KEYS.username]: name }, dryRun: true }),
    { what: `create Secrets in ${namespace}`, notFound: `the namespace ${namespace} does not exist`, refusal: (m) => `Cannot create \`${name}\`: ${m}. ${NOTHING}`, alreadyExists: `Cannot create \`${name}\`: a Secret named ${namespace}/${secret} already exists, and the bot never overwrites one. ${NOTHING}` },
  );
  const { tables, sequences } = privilegesFor(readOnly);
  const targets = [
    `role ${name}: LOGIN (no superuser, no CREATEDB, no CREATEROLE), password generated by the bot and never shown`,
    `GRANT CONNECT ON DATABASE ${grants.database}`,
    ...grants.schemas.flatMap((s) => [
      `GRANT USAGE ON SCHEMA ${s.schema}; ${tables.join(', ')} on its ${s.tables} tables; ${sequences.join(', ')} on its ${s.sequences} sequences`,
      `ALTER DEFAULT PRIVILEGES: the same on tables and sequences ${s.creators.join(', ')} create${s.creators.length === 1 ? 's' : ''} later in ${s.schema}`,
    ]),
    `new Secret ${namespace}/${secret} with the keys ${CREATED_USER_KEYS.username} and ${CREATED_USER_KEYS.password}`,
  ];
  return planned('user-create', `create the ${readOnly ? 'read-only' : 'read-write'} login role ${name}`, targets, {
    role: name,
    readOnly,
    database: grants.database,
    schemas: grants.schemas.map((s) => ({ schema: s.schema, creators: s.creators })),
    secret: { namespace, name: secret, usernameKey: CREATED_USER_KEYS.username, passwordKey: CREATED_USER_KEYS.password },
  });
}

async function planRotation(name: string, ctx: HandlerContext): Promise<GatedResult<PasswordRotationPlan>> {
  if (!isRoleName(name)) {
    throw new Refusal(`\`${name.slice(0, 64)}\` is not a role name (letters, digits, _ and $, at most 63; no quotes, semicolons or spaces). ${NOTHING}`);
  }
  const target = await findRotationTarget(ctx, name);
  const rights = await readPasswordRights(ctx.db, name);
  if (target === null) throw new Refusal(await notManaged(name, rights.target !== null, ctx));
  if (rights.target === null) {
    throw new Refusal(`\`${name}\` is in ${target.source === 'created' ? 'the users the bot created' : 'MANAGED_USERS'}, but there is no such role in the database${rights.caseTwins.length > 0 ? ` (there is ${rights.caseTwins.map((t) => `"${t}"`).join(', ')}, which differs in case)` : ''}. ${NOTHING}`);
  }
  if (name === rights.user) throw new Refusal(`\`${name}\` is the bot's own role: its password is in DATABASE_URL, which the bot cannot rewrite; rotate it by hand. ${NOTHING}`);
  if (!rights.target.login) throw new Refusal(`\`${name}\` cannot log in (NOLOGIN): it has no password to rotate. ${NOTHING}`);
  const problem = passwordChangeProblem(rights);
  if (problem !== undefined) throw new Refusal(`Cannot rotate \`${name}\`: ${problem}. ${NOTHING}`);
  const kube = requireKube(ctx, 'the password lives in a Secret');

  const { secret } = target;
  const where = `${secret.namespace}/${secret.name}`;
  const rbacFix = `add ${secret.name} to the resourceNames of the Secrets rule (get, patch) in deploy/rbac-database.yaml and \`kubectl apply -k deploy/\``;
  const current = await kubeCheck(readSecretKey(kube, secret), {
    what: `read the Secret ${where}`,
    notFound: `the Secret ${where} does not exist`,
    refusal: (m) => `Cannot rotate \`${name}\`: ${m}. ${NOTHING}`,
    forbidden: `the bot may not read the Secret ${where}: ${rbacFix}`,
  });
  await kubeCheck(checkSecretPatchable(kube, secret), {
    what: `change the Secret ${where}`,
    refusal: (m) => `Cannot rotate \`${name}\`: ${m}. ${NOTHING}`,
    forbidden: `the bot may not change the Secret ${where}: ${rbacFix}`,
  });

  const { restart, notRestarted, lookup } = await readers(kube, target, ctx);
  for (const r of restart) {
    await kubeCheck(restartDeployment(kube, r, ctx.now(), { dryRun: true }), {
      what: `restart the deployment ${r.namespace}/${r.name}`,
      notFound: `the deployment ${r.namespace}/${r.name} does not exist`,
      refusal: (m) => `Cannot rotate \`${name}\`: ${m}. ${NOTHING}`,
      forbidden: `the bot may not restart ${r.namespace}/${r.name}, which reads the password: grant it get and patch on that deployment (resourceNames) in a Role of ${r.namespace} (see deploy/rbac-database.yaml)`,
    });
  }

  const keeping = current.keys.includes(secret.key)
    ? `the previous one kept under ${secret.key}${PREVIOUS_KEY_SUFFIX} until the end`
    : `the key does not exist yet and is added`;
  const targets = [
    `role ${name}: a new password, generated by the bot, never shown, sent to PostgreSQL as a SCRAM-SHA-256 verifier`,
    `Secret ${where} key ${secret.key}: the new password; ${keeping}`,
    'proof: a login with the new password must work and with the previous one must fail, before anything is restarted',
    ...restart.map((r) => `restart ${r.namespace}/${r.name} (${r.why}) and follow its rollout`),
    ...(restart.length === 0 ? ['no deployment to restart: none reads this key'] : []),
    ...notRestarted.map((n) => `not restarted: ${n.what}`),
    ...(lookup === null ? [] : [`note: ${lookup}`]),
  ];
  return planned('user-rotate-password', `rotate the password of ${name}`, targets, { role: name, source: target.source, secret, restart, notRestarted });
}

async function notManaged(name: string, exists: boolean, ctx: HandlerContext): Promise<string> {
  const managed = await rotatableRoles(ctx);
  const list = managed.length === 0 ? 'none' : managed.join(', ');
  const twin = managed.find((m) => m.toLowerCase() === name.toLowerCase());
  if (twin !== undefined) return `\`${name}\` is not a role the bot manages, \`${twin}\` is: role names are compared exactly, as PostgreSQL compares quoted names. ${NOTHING}`;
  const what = exists ? `\`${name}\` exists, but is not a role the bot manages` : `There is no role \`${name}\`, and it is not one the bot manages`;
  return `${what} (MANAGED_USERS and the users it created: ${list}); to let the bot rotate it, add ${name}=namespace/secret/key to MANAGED_USERS. ${NOTHING}`;
}

/**
 * The deployments to restart: those whose pods read the key (a pod can only read Secrets of its
 * own namespace), never the database itself (PostgreSQL keeps the password in its catalog), plus
 * APP_DEPLOYMENT for MANAGED_USERS, the application's own credentials.
 */
async function readers(kube: Kube, target: RotationTarget, ctx: HandlerContext): Promise<Pick<PasswordRotationPlan, 'restart' | 'notRestarted'> & { lookup: string | null }> {
  const restart: PasswordRotationPlan['restart'] = [];
  const notRestarted: PasswordRotationPlan['notRestarted'] = [];
  let lookup: string | null = null;
  const database = ctx.config.database;
  try {
    const found = await findSecretConsumers(kube, target.secret);
    for (const d of found.deployments) {
      if (d.namespace === database.namespace && d.name === database.deployment) {
        notRestarted.push({ what: `${d.namespace}/${d.name}, the database itself (${d.how.join(', ')}): PostgreSQL keeps the password itself`, byHand: false });
        continue;
      }
      restart.push({ namespace: d.namespace, name: d.name, why: `its pods read it: ${d.how.join(', ')}` });
    }
    for (const p of found.otherPods) {
      notRestarted.push({ what: `pod ${target.secret.namespace}/${p.pod}${p.owner ? ` (${p.owner})` : ''} reads it (${p.how.join(', ')}): restart it by hand`, byHand: true });
    }
  } catch (error) {
    lookup = `the deployments reading the Secret could not be found: ${kubeFailure(error, { what: `list the pods in ${target.secret.namespace}` }).message}`;
  }
  if (target.source === 'MANAGED_USERS') {
    const app = ctx.config.app;
    if (!restart.some((r) => r.namespace === app.namespace && r.name === app.deployment)) restart.push({ namespace: app.namespace, name: app.deployment, why: 'APP_DEPLOYMENT' });
  }
  return { restart, notRestarted, lookup };
}

interface KubeCheck {
  what: string;
  notFound?: string;
  forbidden?: string;
  alreadyExists?: string;
  /** Wraps the sentence into the refusal. */
  refusal: (sentence: string) => string;
}

/** A Kubernetes call made while planning: any refusal by the API becomes the bot's refusal, in one sentence. */
async function kubeCheck<T>(call: Promise<T>, check: KubeCheck): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 409 && check.alreadyExists !== undefined) throw new Refusal(check.alreadyExists);
    if (code === 401 || code === 403 || code === 404 || code === 409 || code === 422) {
      throw new Refusal(check.refusal(kubeFailure(error, { what: check.what, notFound: check.notFound, forbidden: check.forbidden }).message));
    }
    throw kubeFailure(error, { what: check.what, notFound: check.notFound });
  }
}
