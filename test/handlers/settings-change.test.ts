/**
 * `settings set` and `settings reset` on a private cluster (ALTER SYSTEM changes the whole server):
 * bad names and values are refused in one sentence before any approval and change nothing; a
 * good value is applied with ALTER SYSTEM and a reload, and read back; a setting that needs a
 * restart says so; a value with a quote in it arrives quoted.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { databaseUrl as urlOf } from '../../src/ops/postgres/databases.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { startTestPostgres } from '../support/postgres.js';
import { requestAndApprove } from '../support/approve.js';

let services: TestServices;
let cleanup: () => Promise<void>;
let admin: pg.Client;

async function run(text: string): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, { userId: 'U_ALICE', channelId: 'C_OPS' }, services);
  return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text };
}

/** What postgresql.auto.conf holds now, by name. */
async function autoConf(): Promise<Record<string, string>> {
  const { rows } = await admin.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'");
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

async function approvalCount(): Promise<number> {
  const { rows } = await services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  const started = await startTestPostgres();
  cleanup = started.cleanup;
  await createDemoDatabase(started.pg.url(), 'recipe_database', { recipes: 10, users: 5 });
  const url = urlOf(started.pg.url(), 'recipe_database');
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  services = await openTestServices({ databaseUrl: url, env: { APPROVERS: 'U_BOB' } });
});

afterAll(async () => {
  await services?.close();
  await admin?.end();
  await cleanup?.();
});

describe('settings set and reset', () => {
  it('refuses bad names and values in one sentence, before any approval, changing nothing', async () => {
    const cases: [string, RegExp][] = [
      ['settings set no_such_setting 1', /There is no setting `no_such_setting` on this server/],
      ['settings set work_mem 10TB', /10TB is outside the range of `work_mem`: 64kB to \d+kB; nothing was changed\./],
      ['settings set work_mem 12', /12 is outside the range of `work_mem`: 64kB to/],
      ['settings set work_mem banana', /`work_mem` takes a number \(in kB, or with a unit like 64MB\), not "banana"/],
      ['settings set work_mem 8parsecs', /"parsecs" is not a unit of `work_mem`: use B, kB, MB, GB, TB/],
      ['settings set wal_level extreme', /`wal_level` must be one of minimal, replica, logical, not "extreme"/],
      ['settings set autovacuum perhaps', /`autovacuum` is on or off, not "perhaps"/],
      ["settings set archive_command 'rm -rf /'", /`archive_command` runs a shell command on the database server: the bot does not change it from chat/],
      ['settings set server_version 99', /`server_version` is fixed when the server is built or initialised/],
    ];
    const before = await approvalCount();
    for (const [text, sentence] of cases) {
      const reply = await run(text);
      expect(reply.outcome, text).toBe('refused');
      expect(reply.seen, text).toMatch(sentence);
    }
    const usage = await run('settings set "work_mem; DROP TABLE x" 1');
    expect(usage.outcome).toBe('usage');
    expect(usage.seen).toContain('is not a setting name');
    expect((await run('settings set work_mem')).seen).toContain('`settings set` takes a setting name and its value.');
    expect(await approvalCount()).toBe(before);
    expect(await autoConf()).toEqual({});
  });

  it('applies a good value with ALTER SYSTEM and a reload, reads it back, and resets it', async () => {
    const set = await requestAndApprove(services, 'settings set work_mem 8mb');
    expect(set.request.seen).toContain('work_mem: 4MB → 8MB');
    expect(set.request.seen).toContain("when: becomes every session's default at the reload");
    expect(set.outcome).toContain("1. ALTER SYSTEM SET work_mem = '8MB' — ok");
    expect(set.outcome).toMatch(/2\. SELECT pg_reload_conf\(\) — ok \([\d.]+m?s\) · work_mem is now 8MB/);
    expect(await autoConf()).toEqual({ work_mem: '8MB' });
    expect((await run('settings')).seen).toMatch(/work_mem\s+`8MB` · ALTER SYSTEM/);
    expect((await run('settings set work_mem 8192kB')).seen).toContain('`work_mem` is already 8MB; nothing to change.');

    const reset = await requestAndApprove(services, 'settings reset work_mem');
    expect(reset.request.seen).toContain("work_mem: 8MB → postgresql.conf's value, or the default 4MB");
    expect(reset.outcome).toContain('1. ALTER SYSTEM RESET work_mem — ok');
    expect(reset.outcome).toContain('work_mem is now 4MB');
    expect(await autoConf()).toEqual({});
    expect((await run('settings reset work_mem')).seen).toContain('`work_mem` is not set with ALTER SYSTEM');
  });

  it('says when the change waits for a restart', async () => {
    const set = await requestAndApprove(services, 'settings set shared_buffers 256MB');
    expect(set.request.seen).toContain('shared_buffers: 128MB → 256MB');
    expect(set.request.seen).toContain('when: needs a restart of the database');
    expect(set.outcome).toContain('shared_buffers is still 128MB: the new value waits for a restart of the database (pending_restart)');
    expect((await run('settings')).seen).toMatch(/shared_buffers\s+`128MB` · config\s+:arrows_counterclockwise: restart pending → 256MB/);
    await requestAndApprove(services, 'settings reset shared_buffers');
    expect(await autoConf()).toEqual({});
  });

  it('sends a value with a quote in it as one quoted literal', async () => {
    const set = await requestAndApprove(services, `settings set log_line_prefix "%m [%p] it's "`);
    expect(set.outcome).toContain(`ALTER SYSTEM SET log_line_prefix = '%m [%p] it''s' — ok`);
    expect(await autoConf()).toEqual({ log_line_prefix: "%m [%p] it's" });
    await requestAndApprove(services, 'settings reset log_line_prefix');
  });
});
