/**
 * The local console (`npm start`, a real process) rotating recipe_api's password and creating a
 * user, approved by a second person with `/as`: what it prints (stdout and its log on stderr), the
 * server log and every process's command line hold neither generated password.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { createTestDatabase } from '../support/postgres.js';
import { APP_SECRET, DB_NS, sampleCommandLines, seedUsersKube, sinksHolding, startUsersWorld, type UsersWorld } from '../support/users-fixture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function runConsole(input: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

let world: UsersWorld;
let kube: FakeKube;

beforeAll(async () => {
  world = await startUsersWorld();
  kube = await startFakeKube({ extraRbacFiles: ['test/fixtures/rbac-operator-extension.yaml'] });
  seedUsersKube(kube, world.apiPassword);
}, 60_000);
afterAll(async () => {
  await kube?.close();
  await world?.close();
});

describe('user commands in the local console', () => {
  it('rotates and creates, approved by another user, and prints no password', async () => {
    const sampler = sampleCommandLines();
    const run = await runConsole(
      ['user rotate-password recipe_api', '/as U_BOB', '1', 'user create reporting --read-only', '/as U_CAROL', '1', 'users', ''].join('\n'),
      {
        DATABASE_URL: world.databaseUrl,
        STATE_DATABASE_URL: await createTestDatabase('state'),
        KUBECONFIG: kube.kubeconfigPath,
        APPROVERS: 'U_BOB,U_CAROL',
        BACKUP_SCHEDULE: 'off',
        LOG_LEVEL: 'debug',
      },
    );
    const commandLines = sampler.stop();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Outcome: rotated the password of recipe_api');
    expect(run.stdout).toContain('Outcome: created the login role reporting (read-only on recipe_manager)');
    expect(run.stdout).toContain('rotatable by the bot');

    const rotated = kube.secret(DB_NS, APP_SECRET)?.values.API_PASSWORD ?? '';
    const created = kube.secret(DB_NS, 'recipedb-user-reporting')?.values.password ?? '';
    expect(await world.login('recipe_api', rotated)).toBe(true);
    expect(await world.login('reporting', created)).toBe(true);
    expect(run.stderr.length).toBeGreaterThan(0);
    expect(
      sinksHolding(
        { 'console output': run.stdout, 'console log (stderr)': run.stderr, 'PostgreSQL server log': world.serverLog(), 'process command lines': commandLines.join('\n') },
        [rotated, created, world.apiPassword],
      ),
    ).toEqual([]);
  }, 120_000);
});
