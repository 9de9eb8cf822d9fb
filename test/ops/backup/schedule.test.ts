/**
 * Scheduled backups: the cron rule (UTC), one run per slot across two bot processes sharing the
 * state database and across restarts, the missed-slot rule, and what OPS_CHANNEL is told — a
 * success quietly, a failure loudly. The schedulers are driven by `tick(now)` with a fake clock;
 * one test lets the real timer of a started bot run a slot.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupScheduler, type BackupScheduler } from '../../../src/jobs/backup-scheduler.js';
import { renderBlocks } from '../../../src/bot/blocks-to-text.js';
import { loadConfig } from '../../../src/config.js';
import { acquireBackupLock } from '../../../src/ops/backup/backup-lock.js';
import { acquireOperationLock } from '../../../src/ops/operation-lock.js';
import { dueSlot, parseCronSchedule as parseBackupSchedule, ScheduleError } from '../../../src/cron-schedule.js';
import { claimBackupSlot, findBackupSlot } from '../../../src/state/backup-slots.js';
import { beat, leave } from '../../../src/state/replicas.js';
import { readAudit } from '../../../src/state/audit-log.js';
import { listIncidentEvents, openIncident } from '../../../src/state/incidents.js';
import { startTestBot, type TestBot } from '../../support/bot.js';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.js';
import type { SlackCall } from '../../support/fake-slack.js';
import { messageOf } from '../../support/slack-messages.js';
import { openTestServices } from '../../support/services.js';
import { createDemoTestDatabase, createTestDatabase } from '../../support/postgres.js';
import { backupIsWaiting, lockRecipes, tempBackupDir } from './backup-fixtures.js';

const OPS = 'C_OPSALERTS';
const textOf = (call: SlackCall) => renderBlocks(messageOf(call), { width: 1_000 }).text;
const at = (iso: string) => new Date(iso);
/** Backups are named to the second: the next one must start in a new second. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_020 - (Date.now() % 1_000)));

describe('BACKUP_SCHEDULE', () => {
  it('reads cron in UTC: the latest slot at or before a time, and the next one after it', () => {
    const daily = parseBackupSchedule('0 2 * * *');
    expect(daily.latestSlot(at('2026-01-15T02:00:00Z'))).toEqual(at('2026-01-15T02:00:00Z'));
    expect(daily.latestSlot(at('2026-01-15T01:59:59Z'))).toEqual(at('2026-01-14T02:00:00Z'));
    expect(daily.nextSlot(at('2026-01-15T02:00:00Z'))).toEqual(at('2026-01-16T02:00:00Z'));
    expect(parseBackupSchedule('*/15 * * * *').latestSlot(at('2026-01-15T10:44:59.900Z'))).toEqual(at('2026-01-15T10:30:00Z'));
  });

  it('a missed slot is due within the grace period (1 hour by default) and not after it', () => {
    const daily = parseBackupSchedule('0 2 * * *');
    expect(dueSlot(daily, at('2026-01-15T02:40:00Z'))).toEqual({ slot: at('2026-01-15T02:00:00Z'), lateMs: 40 * 60_000, withinGrace: true });
    expect(dueSlot(daily, at('2026-01-15T03:00:01Z')).withinGrace).toBe(false);
  });

  it('refuses what cron cannot follow, saying why', () => {
    expect(() => parseBackupSchedule('61 * * * *')).toThrow(ScheduleError);
    expect(() => parseBackupSchedule('61 * * * *')).toThrow(/"61 \* \* \* \*" is not a cron expression the bot can follow \(.*61.*\)/);
    expect(() => parseBackupSchedule('0 0 30 2 *')).toThrow(ScheduleError);
  });

  it('stops start-up with one line naming BACKUP_SCHEDULE when cron cannot follow it', () => {
    expect(() => loadConfig({ BACKUP_SCHEDULE: '0 25 * * *' })).toThrow(/^BACKUP_SCHEDULE: "0 25 \* \* \*" is not a cron expression the bot can follow/);
  });
});

describe('scheduled backups by two bot processes on one state database', () => {
  let slack: FakeSlack;
  let bots: TestBot[];
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let schedulers: BackupScheduler[];
  const daily = parseBackupSchedule('0 2 * * *');

  // Each bot's Slack app posts what its scheduler publishes to OPS_CHANNEL.
  const schedulerOf = (bot: TestBot, overrides: Partial<TestBot['services']> = {}): BackupScheduler =>
    createBackupScheduler({ ...bot.services, ...overrides }, { schedule: daily });

  const backupFiles = async () => (await readdir(backups.dir)).filter((f) => f.endsWith('.sql.gz')).sort();
  const opsPosts = () => slack.callsTo('chat.postMessage').filter((c) => c.body.channel === OPS);

  beforeAll(async () => {
    slack = await startFakeSlack();
    backups = await tempBackupDir();
    const databaseUrl = await createDemoTestDatabase();
    const stateDatabaseUrl = await createTestDatabase('state');
    const env = { BACKUP_DIR: backups.dir, OPS_CHANNEL: OPS };
    bots = [
      await startTestBot({ env, slack, databaseUrl, stateDatabaseUrl }),
      await startTestBot({ env, slack, databaseUrl, stateDatabaseUrl }),
    ];
    schedulers = bots.map((bot) => schedulerOf(bot));
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    for (const bot of bots) await bot.stop();
    await slack.close();
    await backups.cleanup();
  });

  it('runs a slot once: both tick at the same moment, one backs up and posts, the other stands aside', async () => {
    const slot = at('2026-01-15T02:00:00Z');
    const results = await Promise.all(schedulers.map((s) => s.tick(at('2026-01-15T02:00:05Z'))));
    const ran = results.filter((r) => r.kind === 'ran');
    expect(ran).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'claimed-elsewhere')).toHaveLength(1);
    const winner = results.findIndex((r) => r.kind === 'ran');

    const files = await backupFiles();
    expect(files).toHaveLength(1);
    expect(ran[0]).toMatchObject({ ok: true, name: files[0] });
    const row = await findBackupSlot(bots[0]!.services.state, slot);
    expect(row).toMatchObject({ claimedBy: schedulers[winner]!.instance, outcome: 'ok', detail: { name: files[0] } });
    expect(row?.finishedAt).toBeInstanceOf(Date);

    const posts = opsPosts();
    expect(posts).toHaveLength(1);
    const posted = textOf(posts[0]!);
    expect(posted).toContain(`Scheduled backup \`${files[0]}\` written:`);
    expect(posted).toContain('slot 2026-01-15 02:00:00 UTC');
    expect(posted).toContain('next 2026-01-16 02:00:00 UTC');
    expect(posted).not.toContain('<!here>');

    const metrics = await bots[winner]!.metrics.registry.metrics();
    expect(metrics).toMatch(/recipedb_ops_backup_duration_seconds_count\{trigger="schedule"\} 1/);
    const audit = (await readAudit(bots[0]!.services.state, 50)).filter((e) => e.action === 'backup.scheduled');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'recipedb-ops', channel: OPS, kind: 'backup' });
  }, 60_000);

  it('neither runs it again: not on later ticks, not after a restart', async () => {
    const results = await Promise.all(schedulers.map((s) => s.tick(at('2026-01-15T02:00:35Z'))));
    // The replica that saw the slot still running asks once more, and learns it finished.
    expect(results.map((r) => r.kind).sort()).toEqual(['claimed-elsewhere', 'idle']);
    expect((await Promise.all(schedulers.map((s) => s.tick(at('2026-01-15T02:01:05Z'))))).map((r) => r.kind)).toEqual(['idle', 'idle']);
    // A restarted process knows nothing in memory: the state database says the slot is taken.
    const restarted = schedulerOf(bots[0]!);
    expect(await restarted.tick(at('2026-01-15T02:10:00Z'))).toEqual({ kind: 'claimed-elsewhere', slot: at('2026-01-15T02:00:00Z') });
    await restarted.stop();
    expect(await backupFiles()).toHaveLength(1);
    expect(opsPosts()).toHaveLength(1);
  });

  it('catches up a slot missed while every replica was down, within the grace period', async () => {
    await nextSecond();
    const restarted = schedulerOf(bots[1]!);
    const result = await restarted.tick(at('2026-01-16T02:40:00Z'));
    await restarted.stop();
    expect(result).toMatchObject({ kind: 'ran', ok: true, slot: at('2026-01-16T02:00:00Z') });
    expect(await backupFiles()).toHaveLength(2);
  }, 60_000);

  it('skips a slot missed beyond the grace period, once, and says so in the log', async () => {
    const postsBefore = opsPosts().length;
    const late = at('2026-01-17T05:00:00Z');
    const results = await Promise.all(schedulers.map((s) => s.tick(late)));
    expect(results.map((r) => r.kind).sort()).toEqual(['claimed-elsewhere', 'skipped']);
    expect(await backupFiles()).toHaveLength(2);
    expect(await findBackupSlot(bots[0]!.services.state, at('2026-01-17T02:00:00Z'))).toMatchObject({ outcome: 'skipped', detail: { reason: 'missed' } });
    const said = bots.flatMap((b) => b.log.lines()).filter((l) => String(l.msg).startsWith('skipped the scheduled backup'));
    expect(said).toHaveLength(1);
    expect(String(said[0]?.msg)).toBe(
      'skipped the scheduled backup of 2026-01-17 02:00:00 UTC: no replica was running then, and 3h later is beyond the 1h grace period',
    );
    expect(opsPosts()).toHaveLength(postsBefore);
  });

  it('waits while a restore or another backup runs, and runs the slot after it', async () => {
    await nextSecond();
    // Another process's session on the state database.
    const other = new pg.Pool({ connectionString: bots[0]!.stateDatabaseUrl });
    try {
      const restore = await acquireOperationLock(other, { kind: 'restore', by: 'U_BOB' });
      expect(await schedulers[0]!.tick(at('2026-01-18T02:00:01Z'))).toMatchObject({ kind: 'deferred', reason: 'a restore is running' });
      await restore.release();
      const manual = await acquireBackupLock(other, { requestedBy: 'U_ALICE', at: new Date() });
      expect(await schedulers[0]!.tick(at('2026-01-18T02:00:31Z'))).toMatchObject({ kind: 'deferred', reason: expect.stringMatching(/^a backup is already running \(started by U_ALICE/) });
      expect(await findBackupSlot(bots[0]!.services.state, at('2026-01-18T02:00:00Z'))).toBeNull();
      await manual.release();
      expect(await schedulers[1]!.tick(at('2026-01-18T02:01:01Z'))).toMatchObject({ kind: 'ran', ok: true });
    } finally {
      await other.end();
    }
    expect(await backupFiles()).toHaveLength(3);
  }, 60_000);

  it('takes over a slot whose replica died before finishing it; leaves one whose replica still beats', async () => {
    await nextSecond();
    const state = bots[0]!.services.state;
    const slot = at('2026-01-20T02:00:00Z');
    // A replica that still beats holds the slot: nobody touches it.
    await beat(state, 'alive-host:7:aaaaaa');
    await claimBackupSlot(state, { slot, claimedBy: 'alive-host:7:aaaaaa' });
    expect(await schedulers[0]!.tick(at('2026-01-20T02:00:30Z'))).toEqual({ kind: 'claimed-elsewhere', slot });
    expect(await backupFiles()).toHaveLength(3);

    // Then it dies (SIGKILL: no goodbye, its heartbeat just stops): its claim is taken over and run.
    await state.query(`UPDATE replicas SET seen_at = now() - interval '10 minutes' WHERE instance = 'alive-host:7:aaaaaa'`);
    const results = await Promise.all(schedulers.map((s) => s.tick(at('2026-01-20T02:01:00Z'))));
    expect(results.filter((r) => r.kind === 'ran')).toEqual([expect.objectContaining({ ok: true })]);
    expect(await backupFiles()).toHaveLength(4);
    const row = await findBackupSlot(state, slot);
    expect(row).toMatchObject({ outcome: 'ok' });
    expect(schedulers.map((s) => s.instance)).toContain(row?.claimedBy);
    const said = bots.flatMap((b) => b.log.lines()).filter((l) => String(l.msg).startsWith('taking over the scheduled backup'));
    expect(said).toHaveLength(1);
    expect(String(said[0]?.msg)).toContain('the replica that took it (alive-host:7:aaaaaa) stopped before finishing it');
  }, 60_000);

  it('leaves alone a slot claimed by a replica the table does not know (a version from before it, mid-upgrade)', async () => {
    const state = bots[0]!.services.state;
    const slot = at('2026-01-22T02:00:00Z');
    await claimBackupSlot(state, { slot, claimedBy: 'older-version:3:cccccc' });
    const results = await Promise.all(schedulers.map((s) => s.tick(at('2026-01-22T02:05:00Z'))));
    expect(results.map((r) => r.kind)).toEqual(['claimed-elsewhere', 'claimed-elsewhere']);
    expect(await findBackupSlot(state, slot)).toMatchObject({ claimedBy: 'older-version:3:cccccc', finishedAt: null });
  });

  it('reports the slot of a replica that left without finishing it as failed when it is too late to take it again', async () => {
    const state = bots[0]!.services.state;
    const slot = at('2026-01-21T02:00:00Z');
    // It shut down with its backup still running past the clean-up time: it left, the slot stayed claimed.
    await beat(state, 'gone-host:9:bbbbbb');
    await claimBackupSlot(state, { slot, claimedBy: 'gone-host:9:bbbbbb' });
    await leave(state, 'gone-host:9:bbbbbb');
    slack.reset();
    const results = await Promise.all(schedulers.map((s) => s.tick(at('2026-01-21T05:00:00Z'))));
    expect(results.filter((r) => r.kind === 'ran')).toEqual([expect.objectContaining({ ok: false })]);
    expect(await findBackupSlot(state, slot)).toMatchObject({ outcome: 'failed', detail: { reason: expect.stringContaining('gone-host:9:bbbbbb') } });
    const posts = opsPosts();
    expect(posts).toHaveLength(1);
    expect(textOf(posts[0]!)).toContain('stopped before finishing it, and it is now too late to take it again');
    expect(await backupFiles()).toHaveLength(4);
  });

  it('a failure is posted loudly to OPS_CHANNEL and lands in the open incident there', async () => {
    const state = bots[0]!.services.state;
    const { incident } = await openIncident(state, { channel: OPS, title: 'disk trouble', severity: 'sev2', declaredBy: 'U_ALICE' });
    const notAFolder = path.join(backups.dir, 'not-a-folder');
    await writeFile(notAFolder, 'a file where BACKUP_DIR should be');
    const config = { ...bots[0]!.services.config, backup: { ...bots[0]!.services.config.backup, dir: notAFolder } };
    const broken = schedulerOf(bots[0]!, { config });
    slack.reset();

    const result = await broken.tick(at('2026-01-19T02:00:02Z'));
    await broken.stop();
    expect(result).toMatchObject({ kind: 'ran', ok: false, reason: `BACKUP_DIR ${notAFolder} is not a folder` });

    const [post] = opsPosts();
    expect(post?.body.text).toBe(`<!here> Scheduled backup FAILED: BACKUP_DIR ${notAFolder} is not a folder`);
    const seen = textOf(post!);
    expect(String(post?.body.blocks && JSON.stringify(post.body.blocks))).toContain(':rotating_light: <!here>');
    expect(seen).toContain(`The scheduled backup of 2026-01-19 02:00:00 UTC FAILED: BACKUP_DIR ${notAFolder} is not a folder`);
    expect(seen).toContain('Take one now with `/recipedb backup`; the next scheduled backup is at 2026-01-20 02:00:00 UTC');

    expect(await findBackupSlot(state, at('2026-01-19T02:00:00Z'))).toMatchObject({ outcome: 'failed', detail: { reason: `BACKUP_DIR ${notAFolder} is not a folder` } });
    const timeline = await listIncidentEvents(state, incident.id);
    expect(timeline.map((e) => [e.kind, e.text])).toContainEqual(['backup', `Scheduled backup of 2026-01-19 02:00:00 UTC FAILED: BACKUP_DIR ${notAFolder} is not a folder`]);
  }, 60_000);
});

describe('the scheduler of a running bot', () => {
  it('starts with BACKUP_SCHEDULE, catches up the slot just past, posts to OPS_CHANNEL, and stops with the bot', async () => {
    const backups = await tempBackupDir();
    // A slot earlier in this very hour: due at once (within the grace period), whatever the time of day.
    const minute = new Date().getUTCMinutes();
    const bot = await startTestBot({ env: { BACKUP_SCHEDULE: `${minute} * * * *`, OPS_CHANNEL: OPS, BACKUP_DIR: backups.dir } });
    try {
      const post = await bot.slack.waitFor('chat.postMessage', (c) => c.body.channel === OPS, 30_000);
      expect(textOf(post)).toMatch(/Scheduled backup `recipe-database-backup-[\d_-]+\.sql\.gz` written/);
      expect(bot.log.lines().some((l) => String(l.msg).startsWith(`scheduled backups on "${minute} * * * *" (UTC); next at `))).toBe(true);
    } finally {
      await bot.stop();
      await backups.cleanup();
    }
  }, 60_000);

  it('on shutdown stops a scheduled backup that outlasts the grace period, keeps no file and says so; a draining replica starts none', async () => {
    const backups = await tempBackupDir();
    const services = await openTestServices({ env: { BACKUP_DIR: backups.dir } });
    const scheduler = createBackupScheduler(services, { schedule: parseBackupSchedule('0 2 * * *') });
    const lock = await lockRecipes(services.databaseUrl);
    try {
      const ticked = scheduler.tick(at('2026-01-23T02:00:10Z'));
      await backupIsWaiting(services.databaseUrl);
      const drained = await services.lifecycle.drain({ graceMs: 300, cleanupMs: 10_000 });
      expect(drained).toEqual({ unfinished: 0 });
      expect(await ticked).toMatchObject({ kind: 'ran', ok: false, reason: 'the bot was shutting down and stopped the backup before it finished; no file was kept' });
      expect(await readdir(backups.dir)).toEqual([]);
      expect(await findBackupSlot(services.state, at('2026-01-23T02:00:00Z'))).toMatchObject({ outcome: 'failed' });
      // A draining replica starts nothing new.
      expect(await scheduler.tick(at('2026-01-24T02:00:10Z'))).toEqual({ kind: 'idle' });
    } finally {
      await lock.release();
      await scheduler.stop();
      await services.close();
      await backups.cleanup();
    }
  });

  it('BACKUP_SCHEDULE=off starts no scheduler', async () => {
    const bot = await startTestBot();
    try {
      expect(bot.log.lines().some((l) => String(l.msg).startsWith('scheduled backups on'))).toBe(false);
      const { rows } = await bot.services.state.query('SELECT count(*)::int AS n FROM backup_slots');
      expect(rows[0]?.n).toBe(0);
    } finally {
      await bot.stop();
    }
  });
});
