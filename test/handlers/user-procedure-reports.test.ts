/**
 * What the rotation and creation reports say in each state a failure can leave, from states
 * alone (the procedures' conclude functions are pure): the role, the Secret and each application,
 * and what to run next. The paths through the real world are in test/bot/users-slack.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { concludeRotation, type RotationState } from '../../src/handlers/password-rotation-procedure.js';
import type { RunRecord } from '../../src/handlers/procedure-runner.js';
import { concludeUserCreate, type UserCreateState } from '../../src/handlers/user-create-procedure.js';

const plan: RotationState['plan'] = {
  role: 'recipe_api',
  source: 'MANAGED_USERS',
  secret: { namespace: 'recipe-database', name: 'recipe-database-secret', key: 'API_PASSWORD' },
  restart: [{ namespace: 'default', name: 'recipe-app', why: 'APP_DEPLOYMENT' }],
  notRestarted: [],
};
const fresh = (over: Partial<RotationState> = {}): RotationState => ({
  plan,
  secret: 'unchanged',
  role: 'unchanged',
  hadPrevious: true,
  proof: {},
  restarts: [{ namespace: 'default', name: 'recipe-app', requested: false }],
  ...over,
});
const failedAt = (number: number, title: string, reason: string): RunRecord => ({ steps: [], failed: { number, title, reason }, tookMs: 10 });

describe('concludeRotation', () => {
  it('says nothing is left changed when the role change failed and the Secret was put back', () => {
    const c = concludeRotation(fresh({ secret: 'restored' }), failedAt(3, "set the role's password", "the bot's database user lacks the permission for this"));
    expect(c.ok).toBe(false);
    expect(c.summary).toBe("FAILED at step 3 (set the role's password): the bot's database user lacks the permission for this");
    expect(c.endState).toEqual([
      'Role recipe_api: unchanged (the previous password)',
      'Secret recipe-database/recipe-database-secret: back to the previous password (API_PASSWORD_PREVIOUS removed)',
      'Application default/recipe-app: not restarted: still runs with the previous password',
    ]);
    expect(c.next).toEqual(["Nothing is left changed: fix the cause (the bot's database user lacks the permission for this) and run `user rotate-password recipe_api` again."]);
  });

  it('says to run it again when the database did not confirm the change', () => {
    const c = concludeRotation(fresh({ secret: 'new', role: 'unknown' }), failedAt(3, "set the role's password", 'the database stopped answering'));
    expect(c.endState.slice(0, 2)).toEqual([
      'Role recipe_api: UNKNOWN — the database did not confirm the change',
      'Secret recipe-database/recipe-database-secret: API_PASSWORD holds the new password; the previous one is still under API_PASSWORD_PREVIOUS',
    ]);
    expect(c.next).toEqual(['Run `user rotate-password recipe_api` again: it sets one new password on both the role and the Secret.']);
  });

  it('names the application left on the old password when a restart was refused half-way', () => {
    const c = concludeRotation(
      fresh({
        plan: { ...plan, restart: [...plan.restart, { namespace: 'recipe-database', name: 'recipe-api', why: 'env' }] },
        secret: 'new',
        role: 'new',
        restarts: [
          { namespace: 'default', name: 'recipe-app', requested: true, generation: 2 },
          { namespace: 'recipe-database', name: 'recipe-api', requested: false },
        ],
      }),
      failedAt(5, 'restart the deployments that read the password', 'Kubernetes could not restart the deployment recipe-database/recipe-api: HTTP 500'),
    );
    expect(c.endState).toContain('Application recipe-database/recipe-api: not restarted: still runs with the previous password, which the database no longer accepts for new connections');
    expect(c.endState).toContain('Application default/recipe-app: restart requested, rollout not followed');
    expect(c.next).toContain(
      'Restart recipe-database/recipe-api by hand (`kubectl rollout restart`): it still runs with the previous password, which the database no longer accepts for new connections.',
    );
    expect(c.next?.at(-1)).toMatch(/^Once the applications run, remove the previous password: kubectl -n recipe-database patch secret recipe-database-secret --type merge/);
  });

  it('is not a success when the previous password still logs in', () => {
    const c = concludeRotation(
      fresh({ secret: 'cleaned', role: 'new', proof: { newWorks: true, previousRefused: false }, restarts: [{ namespace: 'default', name: 'recipe-app', requested: true, rollout: { done: true, failure: null, state: { generation: 2, desired: 1, updated: 1, ready: 1, available: 1, total: 1, observedGeneration: 2, deadlineExceeded: false } } }] }),
      { steps: [], tookMs: 10 },
    );
    expect(c.ok).toBe(false);
    expect(c.summary).toContain("the database still accepts the previous one: it does not check this role's password from the bot's address");
    expect(c.next?.[0]).toContain('Check pg_hba.conf');
  });

  it('says what the stop left when the procedure was stopped', () => {
    const c = concludeRotation(fresh({ secret: 'new', role: 'new' }), { steps: [], stopped: 'the bot is shutting down', tookMs: 10 });
    expect(c.summary).toBe('stopped: the bot is shutting down');
    expect(c.next?.[0]).toBe('The rotation was stopped (the bot is shutting down); check the state above before running `user rotate-password recipe_api` again.');
  });
});

describe('concludeUserCreate', () => {
  const createPlan: UserCreateState['plan'] = {
    role: 'reporting',
    readOnly: true,
    database: 'recipe_database',
    schemas: [{ schema: 'recipe_manager', creators: ['recipedb_ops'] }],
    secret: { namespace: 'recipe-database', name: 'recipedb-user-reporting', usernameKey: 'username', passwordKey: 'password' },
  };
  const state = (over: Partial<UserCreateState>): UserCreateState => ({ plan: createPlan, role: 'none', secret: 'none', remembered: false, ...over });

  it('a Secret that could not be created leaves no role', () => {
    const c = concludeUserCreate(state({ role: 'rolled-back' }), failedAt(2, 'store the password in a new Secret', 'a Secret named recipe-database/recipedb-user-reporting already exists'));
    expect(c.endState).toEqual(['Role reporting: not created (rolled back)', 'Secret recipe-database/recipedb-user-reporting: not created']);
    expect(c.next?.[0]).toMatch(/^Nothing was created: fix the cause .* and run `user create reporting --read-only` again\.$/);
  });

  it('a commit that failed after the Secret was created says to delete the Secret', () => {
    const c = concludeUserCreate(state({ role: 'rolled-back', secret: 'created' }), failedAt(3, 'commit the role', 'the connection to the database was lost'));
    expect(c.endState[1]).toBe('Secret recipe-database/recipedb-user-reporting: created, but it holds the password of a role that does not exist');
    expect(c.next).toEqual(['Delete the Secret the bot could not use (kubectl -n recipe-database delete secret recipedb-user-reporting), then run `user create reporting --read-only` again.']);
  });

  it('a role the bot could not remember can still be rotated through MANAGED_USERS', () => {
    const c = concludeUserCreate(state({ role: 'created', secret: 'created' }), failedAt(4, 'remember the user for password rotation', 'the state database did not answer'));
    expect(c.next?.[0]).toBe('The bot could not remember reporting: to rotate it, add reporting=recipe-database/recipedb-user-reporting/password to MANAGED_USERS.');
  });
});
