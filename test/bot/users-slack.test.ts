/**
 * `user rotate-password` and `user create` through Slack, end to end: the real Bolt app, the fake
 * Slack and Kubernetes APIs (deploy/'s RBAC plus what an operator adds as deploy/ says), and a
 * PostgreSQL 15 that asks for passwords (SCRAM) and logs every statement. The bot connects as a
 * non-superuser role with CREATEROLE, as the README asks.
 *
 * Password hygiene is tested, not promised: after each change the generated password (read from
 * the Secret the bot wrote) and the previous one are looked for in every Slack payload, the bot's
 * log, the state database (audit log, requests, created users), the PostgreSQL server log, every
 * process's command line while it ran, and the fake Kubernetes API's request log except the
 * Secret write itself; none may hold any form of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand } from '../../src/bot/dispatch.js';
import { RESTARTED_AT_ANNOTATION } from '../../src/ops/kube/restart-deployment.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube, type FakeRequest } from '../support/fake-kube.js';
import type { SlackCall } from '../support/fake-slack.js';
import { messageOf } from '../support/slack-messages.js';
import { waitUntil } from '../ops/backup/backup-fixtures.js';
import { APP_SECRET, DB_NS, sampleCommandLines, seedUsersKube, sinksHolding, startUsersWorld, type UsersWorld } from '../support/users-fixture.js';

const wide = (call: SlackCall) => renderBlocks(messageOf(call), { width: 2_000 });
const textOf = (call: SlackCall) => wide(call).text;
const isSecretWrite = (q: FakeRequest) => /^\/api\/v1\/namespaces\/[^/]+\/secrets(\/|$)/.test(q.path) && (q.method === 'PATCH' || q.method === 'POST') && q.query.dryRun !== 'All';
const writes = (kube: FakeKube) => kube.requests.filter((q) => q.method !== 'GET' && q.query.dryRun !== 'All');

let world: UsersWorld;
let kube: FakeKube;
let bot: TestBot;

beforeAll(async () => {
  world = await startUsersWorld();
  kube = await startFakeKube({ extraRbacFiles: ['test/fixtures/rbac-operator-extension.yaml'] });
  seedUsersKube(kube, world.apiPassword);
  bot = await startTestBot({ databaseUrl: world.databaseUrl, kube, env: { APPROVERS: 'U_BOB', ROLLOUT_TIMEOUT: '3s' } });
}, 60_000);
afterAll(async () => {
  await bot?.stop();
  await kube?.close();
  await world?.close();
});

/** The command's answer (an approval request or a refusal), posted or edited into the progress message. */
async function answerTo(text: string): Promise<SlackCall> {
  bot.slack.reset();
  await bot.client.command(text);
  return waitUntil(
    async () => bot.slack.calls.find((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && /Approval needed|Cannot|not a role|exists|may not/.test(textOf(c))),
    20_000,
    `the answer to \`${text}\``,
  );
}

async function request(text: string): Promise<{ text: string; ts: string; id: string }> {
  const call = await answerTo(text);
  const approve = wide(call).choices.find((c) => c.actionId === 'approval_approve');
  if (!approve) throw new Error(`no approval request was posted:\n${textOf(call)}`);
  const ts = call.method === 'chat.update' ? String(call.body.ts) : String(call.response.ts);
  return { text: textOf(call), ts, id: approve.value };
}

async function approve(r: { ts: string; id: string }): Promise<string> {
  await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
  return textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
}

async function stateDump(): Promise<string> {
  const tables = ['audit_log', 'approval_requests', 'created_users', 'incident_events'];
  const parts = await Promise.all(tables.map(async (t) => JSON.stringify((await bot.services.state.query(`SELECT * FROM ${t}`)).rows)));
  return parts.join('\n');
}

/** Every place a password must never be, as text. */
async function sinks(commandLines: string[]): Promise<Record<string, string>> {
  return {
    'Slack payloads': JSON.stringify([bot.slack.calls, bot.slack.responsePosts]),
    'bot log': bot.log.text(),
    'state database (audit log, requests, created users)': await stateDump(),
    'PostgreSQL server log': world.serverLog(),
    'process command lines': commandLines.join('\n'),
    'Kubernetes requests except the Secret write': JSON.stringify(kube.requests.filter((q) => !isSecretWrite(q))),
  };
}

describe('user rotate-password over Slack', () => {
  it('rotates recipe_api: Secret, role, proof, restarts; the previous password stops working; no password anywhere', async () => {
    const old = world.apiPassword;
    const r = await request('user rotate-password recipe_api');
    expect(r.text).toContain('Approval needed: user-rotate-password');
    expect(r.text).toContain('Rotate the password of recipe_api');
    expect(r.text).toContain('role recipe_api: a new password, generated by the bot, never shown, sent to PostgreSQL as a SCRAM-SHA-256 verifier');
    expect(r.text).toContain(`Secret ${DB_NS}/${APP_SECRET} key API_PASSWORD: the new password; the previous one kept under API_PASSWORD_PREVIOUS until the end`);
    expect(r.text).toContain(`restart ${DB_NS}/recipe-api (its pods read it: env DB_PASSWORD) and follow its rollout`);
    expect(r.text).toContain('restart default/recipe-app (APP_DEPLOYMENT) and follow its rollout');
    expect(r.text).toContain(`not restarted: ${DB_NS}/recipe-database, the database itself (envFrom): PostgreSQL keeps the password itself`);
    // Planning changed nothing (its checks are reads and dry runs).
    expect(writes(kube)).toEqual([]);
    expect(kube.secret(DB_NS, APP_SECRET)?.values.API_PASSWORD).toBe(old);

    const sampler = sampleCommandLines();
    const outcome = await approve(r);
    const commandLines = sampler.stop();

    expect(outcome).toContain('Outcome: rotated the password of recipe_api: the role and the Secret hold the new one, recipe-database/recipe-api, default/recipe-app restarted, the new password logs in and the previous one is refused');
    expect(outcome).toMatch(/1\. read the Secret recipe-database\/recipe-database-secret and the role recipe_api — ok .* · API_PASSWORD holds the current password/);
    expect(outcome).toMatch(/2\. write the new password to recipe-database\/recipe-database-secret key API_PASSWORD — ok .* · the previous one kept under API_PASSWORD_PREVIOUS/);
    expect(outcome).toMatch(/3\. set the password of the role recipe_api — ok .* · sent as a SCRAM-SHA-256 verifier/);
    expect(outcome).toMatch(/4\. prove the new password logs in and the previous one does not — ok .* · the new password logs in; the previous one is refused \(the database refused the password\)/);
    expect(outcome).toMatch(/5\. restart recipe-database\/recipe-api, default\/recipe-app — ok/);
    expect(outcome).toMatch(/6\. follow the rollouts — ok/);
    expect(outcome).toContain('   recipe-database/recipe-api: 2/2 updated, 2 available');
    expect(outcome).toMatch(/7\. remove API_PASSWORD_PREVIOUS from recipe-database\/recipe-database-secret — ok/);
    expect(outcome).toContain('Role recipe_api: the new password (SCRAM-SHA-256)');
    expect(outcome).toContain(`Secret ${DB_NS}/${APP_SECRET}: API_PASSWORD holds the new password`);
    expect(outcome).toContain('Application default/recipe-app: restarted, every replica reads the new password (3/3 updated, 3 available)');

    // What changed, in the world.
    const secret = kube.secret(DB_NS, APP_SECRET);
    const fresh = secret?.values.API_PASSWORD ?? '';
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(secret?.values ?? {}).sort()).toEqual(['API_PASSWORD', 'POSTGRES_PASSWORD']);
    expect(secret?.values.POSTGRES_PASSWORD).toBe('the-superuser-password');
    expect(await world.login('recipe_api', fresh)).toBe(true);
    expect(await world.login('recipe_api', old)).toBe(false);
    expect(kube.template(DB_NS, 'recipe-api')?.annotations[RESTARTED_AT_ANNOTATION]).toBeDefined();
    expect(kube.template('default', 'recipe-app')?.annotations[RESTARTED_AT_ANNOTATION]).toBeDefined();
    expect(kube.template(DB_NS, 'recipe-database')?.revision).toBe(1);
    expect(kube.forbidden).toEqual([]);
    // The bot never lists Secrets.
    expect(kube.requests.filter((q) => q.method === 'GET' && /\/secrets$/.test(q.path))).toEqual([]);

    // Each step in the audit log as it happened.
    const steps = await bot.services.state.query<{ summary: string }>(`SELECT summary FROM audit_log WHERE kind = 'procedure.step' AND request_id = $1 ORDER BY id`, [r.id]);
    expect(steps.rows.map((x) => x.summary.replace(/ \(.*\)$/, ''))).toEqual([
      'user-rotate-password recipe_api, step 1/7: read the Secret recipe-database/recipe-database-secret and the role recipe_api — ok',
      'user-rotate-password recipe_api, step 2/7: write the new password to recipe-database/recipe-database-secret key API_PASSWORD — ok',
      'user-rotate-password recipe_api, step 3/7: set the password of the role recipe_api — ok',
      'user-rotate-password recipe_api, step 4/7: prove the new password logs in and the previous one does not — ok',
      'user-rotate-password recipe_api, step 5/7: restart recipe-database/recipe-api, default/recipe-app — ok',
      'user-rotate-password recipe_api, step 6/7: follow the rollouts — ok',
      'user-rotate-password recipe_api, step 7/7: remove API_PASSWORD_PREVIOUS from recipe-database/recipe-database-secret — ok',
    ]);

    // The server was sent a verifier, which it logged; never the password.
    expect(world.serverLog()).toMatch(/ALTER ROLE "recipe_api" PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'/);
    // The grep finds a password where there is one: in the Secret write.
    expect(sinksHolding({ write: JSON.stringify(kube.requests.filter(isSecretWrite)) }, [fresh])).toEqual(['write']);
    expect(commandLines.length).toBeGreaterThan(0);
    expect(sinksHolding(await sinks(commandLines), [fresh, old])).toEqual([]);
    world.apiPassword = fresh;
  }, 90_000);

  it('a Secret patch that fails leaves the role untouched and says so', async () => {
    const before = world.apiPassword;
    const revisions = [kube.template(DB_NS, 'recipe-api')?.revision, kube.template('default', 'recipe-app')?.revision];
    const r = await request('user rotate-password recipe_api');
    kube.failWith(`/api/v1/namespaces/${DB_NS}/secrets/${APP_SECRET}`, 500, 'PATCH');
    let outcome: string;
    try {
      outcome = await approve(r);
    } finally {
      kube.failWith(null, 0);
    }
    expect(outcome).toContain('Outcome: FAILED at step 2 (write the new password to the Secret): Kubernetes could not change the Secret recipe-database/recipe-database-secret: injected failure');
    expect(outcome).toContain('3. set the role\'s password — not run');
    expect(outcome).toContain('Role recipe_api: unchanged (the previous password)');
    expect(outcome).toContain(`Secret ${DB_NS}/${APP_SECRET}: unchanged`);
    expect(outcome).toContain('Application recipe-database/recipe-api: not restarted: still runs with the previous password');
    expect(outcome).toContain('Next: Nothing is left changed: fix the cause');
    expect(await world.login('recipe_api', before)).toBe(true);
    expect(kube.secret(DB_NS, APP_SECRET)?.values.API_PASSWORD).toBe(before);
    expect([kube.template(DB_NS, 'recipe-api')?.revision, kube.template('default', 'recipe-app')?.revision]).toEqual(revisions);
  }, 60_000);

  it('a rollout that does not complete keeps both passwords in the Secret and says what to run', async () => {
    const before = world.apiPassword;
    kube.setRolloutReady(DB_NS, 'recipe-api', false);
    let outcome: string;
    try {
      outcome = await approve(await request('user rotate-password recipe_api'));
    } finally {
      kube.setRolloutReady(DB_NS, 'recipe-api', true);
    }
    const values = kube.secret(DB_NS, APP_SECRET)?.values ?? {};
    const fresh = values.API_PASSWORD ?? '';
    expect(fresh).not.toBe(before);
    expect(values.API_PASSWORD_PREVIOUS).toBe(before);
    expect(outcome).toContain('Outcome: FAILED at step 6 (follow the rollouts): the rollout of recipe-database/recipe-api did not complete within 3s');
    expect(outcome).toContain('↩ undo of step 3: set the previous password on the role again — skipped: left as it is: an application already restarted with the new password');
    expect(outcome).toContain('7. remove the previous password from the Secret — not run');
    expect(outcome).toContain('Role recipe_api: the new password (SCRAM-SHA-256)');
    expect(outcome).toContain(`Secret ${DB_NS}/${APP_SECRET}: API_PASSWORD holds the new password; the previous one is still under API_PASSWORD_PREVIOUS`);
    expect(outcome).toContain('Application recipe-database/recipe-api: restart requested, rollout NOT complete (2/2 updated, 2 available, 2 old still running)');
    expect(outcome).toContain('Next: Look at recipe-database/recipe-api: `kubectl -n recipe-database rollout status deploy/recipe-api`');
    expect(outcome).toContain(`Next: Once the applications run, remove the previous password: kubectl -n ${DB_NS} patch secret ${APP_SECRET} --type merge -p '{"data":{"API_PASSWORD_PREVIOUS":null}}'`);
    // The role was not put back: the restarted pods hold the new password.
    expect(await world.login('recipe_api', fresh)).toBe(true);
    expect(await world.login('recipe_api', before)).toBe(false);
    world.apiPassword = fresh;
  }, 60_000);
});

describe('user create over Slack', () => {
  it('creates a read-only user with default privileges and its Secret, remembers it, and rotates it', async () => {
    const r = await request('user create reporting --read-only');
    expect(r.text).toContain('Create the read-only login role reporting');
    expect(r.text).toContain('role reporting: LOGIN (no superuser, no CREATEDB, no CREATEROLE), password generated by the bot and never shown');
    expect(r.text).toContain('GRANT CONNECT ON DATABASE recipe_database');
    expect(r.text).toContain('GRANT USAGE ON SCHEMA recipe_manager; SELECT on its 4 tables; SELECT on its 4 sequences');
    expect(r.text).toContain('ALTER DEFAULT PRIVILEGES: the same on tables and sequences recipedb_ops creates later in recipe_manager');
    expect(r.text).toContain(`new Secret ${DB_NS}/recipedb-user-reporting with the keys username and password`);
    expect(kube.secret(DB_NS, 'recipedb-user-reporting')).toBeUndefined();

    const sampler = sampleCommandLines();
    const outcome = await approve(r);
    const commandLines = sampler.stop();
    expect(outcome).toContain('Outcome: created the login role reporting (read-only on recipe_manager); its password is in the Secret recipe-database/recipedb-user-reporting');
    expect(outcome).toMatch(/1\. create the role reporting and its grants — ok .* · SELECT on recipe_manager, also on tables created later; not committed until the Secret exists/);
    expect(outcome).toMatch(/2\. store the password in the new Secret recipe-database\/recipedb-user-reporting — ok .* · keys username and password/);
    expect(outcome).toMatch(/5\. prove the password logs in — ok/);
    expect(outcome).toContain('Next: To let `user rotate-password reporting` change the Secret later, add recipedb-user-reporting to the resourceNames of the Secrets rule in deploy/rbac-database.yaml');

    const secret = kube.secret(DB_NS, 'recipedb-user-reporting');
    const password = secret?.values.password ?? '';
    expect(secret?.values.username).toBe('reporting');
    expect(secret?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'recipedb-ops' });
    expect(await world.tryAs('reporting', password, 'SELECT count(*) FROM recipe_manager.recipes')).toBeNull();
    expect(await world.tryAs('reporting', password, `INSERT INTO recipe_manager.users (username, email, display_name) VALUES ('zed', 'z@example.com', 'Z')`)).toBe('42501');
    // A table created later by the schema's owner is covered by the default privileges.
    expect(await world.tryAs('recipedb_ops', world.botPassword, 'CREATE TABLE recipe_manager.later (id int)')).toBeNull();
    expect(await world.tryAs('reporting', password, 'SELECT * FROM recipe_manager.later')).toBeNull();
    expect(sinksHolding(await sinks(commandLines), [password])).toEqual([]);
    const remembered = await bot.services.state.query('SELECT role, namespace, secret, secret_key, read_only, created_by, approved_by FROM created_users');
    expect(remembered.rows).toEqual([{ role: 'reporting', namespace: DB_NS, secret: 'recipedb-user-reporting', secret_key: 'password', read_only: true, created_by: 'U_ALICE', approved_by: 'U_BOB' }]);

    // Its Secret is named in the operator's RBAC extension: it can be rotated. Nothing reads it, so nothing restarts.
    const rotate = await request('user rotate-password reporting');
    expect(rotate.text).toContain('no deployment to restart: none reads this key');
    expect(rotate.text).not.toContain('APP_DEPLOYMENT');
    const rotated = await approve(rotate);
    expect(rotated).toContain('Outcome: rotated the password of reporting');
    expect(rotated).toContain('5. restart the deployments that read the password — skipped: no deployment reads this Secret key');
    const next = kube.secret(DB_NS, 'recipedb-user-reporting')?.values.password ?? '';
    expect(next).not.toBe(password);
    expect(await world.login('reporting', next)).toBe(true);
    expect(await world.login('reporting', password)).toBe(false);
  }, 90_000);

  it('creates a read-write user, whose Secret the bot may not change until an operator names it', async () => {
    const outcome = await approve(await request('user create analyst'));
    expect(outcome).toContain('Outcome: created the login role analyst (read-write on recipe_manager)');
    const password = kube.secret(DB_NS, 'recipedb-user-analyst')?.values.password ?? '';
    expect(await world.tryAs('analyst', password, `INSERT INTO recipe_manager.later VALUES (1)`)).toBeNull();
    expect(await world.tryAs('analyst', password, 'TRUNCATE recipe_manager.later')).toBe('42501');
    const refused = textOf(await answerTo('user rotate-password analyst'));
    expect(refused).toContain(
      'Cannot rotate `analyst`: the bot may not read the Secret recipe-database/recipedb-user-analyst: add recipedb-user-analyst to the resourceNames of the Secrets rule (get, patch) in deploy/rbac-database.yaml and `kubectl apply -k deploy/`. Nothing was changed.',
    );
  }, 60_000);
});

describe('bad input gets one sentence and changes nothing', () => {
  it.each([
    ['user rotate-password ghost', 'There is no role `ghost`, and it is not one the bot manages (MANAGED_USERS and the users it created: '],
    ['user rotate-password postgres', '`postgres` exists, but is not a role the bot manages'],
    ['user rotate-password Recipe_API', '`Recipe_API` is not a role the bot manages, `recipe_api` is: role names are compared exactly, as PostgreSQL compares quoted names.'],
    ['user rotate-password "recipe_api; DROP ROLE recipe_api"', '`recipe_api; DROP ROLE recipe_api` is not a role name (letters, digits, _ and $, at most 63; no quotes, semicolons or spaces). Nothing was changed.'],
    [`user rotate-password recipe_api'--`, "`recipe_api'--` is not a role name"],
    ['user create postgres', "Cannot create it: `postgres` is the database's superuser (the official image's POSTGRES_USER): the bot never creates or changes it. Nothing was changed."],
    ['user create Alice', 'Cannot create it: role names the bot creates are lower case (unquoted SQL would read `Alice` as `alice`, a different role): use `alice`. Nothing was changed.'],
    ['user create "bob;drop"', 'Cannot create it: `bob;drop` is not a role name: quotes, semicolons, backslashes and spaces are not allowed'],
    ['user create \'"quoted"\'', 'Cannot create it: `"quoted"` is not a role name: quotes, semicolons, backslashes and spaces are not allowed'],
    ['user create pg_mine', 'starts with pg_, which PostgreSQL reserves for its own roles'],
    ['user create recipe_api', 'The role `recipe_api` already exists: `user create` makes new roles only; `user rotate-password recipe_api` gives it a new password. Nothing was changed.'],
    ['user create public', '`public` is a name PostgreSQL reserves; it cannot be a role'],
  ])('%s', async (command, expected) => {
    const requests = (await bot.services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests')).rows[0]?.n;
    const kubeWrites = writes(kube).length;
    const roles = await world.tryAs('recipedb_ops', world.botPassword, 'SELECT 1');
    const reply = await dispatchCommand(command, { userId: 'U_ALICE', channelId: 'C_OPS' }, bot.services);
    const text = renderBlocks(reply.message, { width: 2_000 }).text;
    expect(reply.outcome).toBe('refused');
    expect(text).toContain(expected);
    expect(text.split('\n').filter((l) => l.trim() !== '')).toHaveLength(1);
    expect((await bot.services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests')).rows[0]?.n).toBe(requests);
    expect(writes(kube).length).toBe(kubeWrites);
    expect(roles).toBeNull();
  });

  it('answers a wrong sub-command or extra words with the usage', async () => {
    for (const command of ['user', 'user delete alice', 'user create', 'user create a b', 'user rotate-password x --force']) {
      const reply = await dispatchCommand(command, { userId: 'U_ALICE', channelId: 'C_OPS' }, bot.services);
      expect(reply.outcome, command).toBe('usage');
      expect(renderBlocks(reply.message).text, command).toContain('user create <name> [--read-only] · user rotate-password <name>');
    }
  });

  it('refuses to rotate when a deployment that reads the password may not be restarted', async () => {
    kube.addDeployment({ namespace: DB_NS, name: 'recipe-worker', replicas: 1, containers: [{ name: 'worker', envFrom: [{ secretRef: { name: APP_SECRET } }] }] });
    const refused = textOf(await answerTo('user rotate-password recipe_api'));
    expect(refused).toContain(
      'Cannot rotate `recipe_api`: the bot may not restart recipe-database/recipe-worker, which reads the password: grant it get and patch on that deployment (resourceNames) in a Role of recipe-database (see deploy/rbac-database.yaml). Nothing was changed.',
    );
    expect(await world.login('recipe_api', world.apiPassword)).toBe(true);
  }, 30_000);
});
