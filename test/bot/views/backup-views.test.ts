/**
 * How `backup`, `backup verify` and `backups` look, from typed results (what the handlers return:
 * test/handlers/backup-commands.test.ts), asserted on the blocks Slack receives.
 */
import { describe, expect, it } from 'vitest';
import { backupView } from '../../../src/bot/views/backup-view.js';
import { backupsView } from '../../../src/bot/views/backups-view.js';
import { scheduledPitrBackupView } from '../../../src/bot/views/scheduled-pitr-backup-view.js';
import type { BackupTaken, BackupVerified } from '../../../src/handlers/backup.js';
import { headerOf, mrkdwnOf } from '../../support/blocks.js';

const at = new Date('2026-12-01T03:00:00Z');
const NAME = 'recipe-database-backup-2026-12-01_03-00-00.sql.gz';
const DIR = '/backups/recipe-database';

const taken: BackupTaken = {
  kind: 'backup', measuredAt: at, dir: DIR, name: NAME, sizeBytes: 64_100, dumpBytes: 264_200, sha256: 'ab'.repeat(32), durationMs: 545,
  throughput: 484_800, rowCounts: { 'recipe_manager.recipes': 300, 'recipe_manager.users': 100 }, rowCountsTaken: 'same-snapshot',
  retentionDays: 30, deleted: [], warnings: [],
};

describe('backup view', () => {
  it('says what it wrote: name, size against the dump, duration, rows, retention, how to verify', () => {
    const message = backupView(taken);
    expect(headerOf(message)).toBe('Backup written');
    expect(mrkdwnOf(message)).toEqual([
      `:white_check_mark: \`${NAME}\``,
      '*Size*\n62.6 KiB (dump 258 KiB, 4.1× smaller)',
      '*Duration*\n545ms · 473 KiB/s',
      '*Rows at backup time*\nrecipe_manager.recipes 300 · recipe_manager.users 100',
      'Retention (30 days): no backup old enough to delete',
      `In ${DIR} · SHA-256 abababababababab… · not verified yet: \`/recipedb backup verify ${NAME}\``,
      'Measured at 2026-12-01 03:00:00 UTC',
    ]);
    expect(message.text).toBe(`Backup ${NAME} written: 62.6 KiB in 545ms`);
  });

  it('names what retention deleted, and warnings', () => {
    const texts = mrkdwnOf(backupView({ ...taken, deleted: ['recipe-database-backup-2026-10-01_02-00-00.sql.gz'], warnings: ['retention did not run: permission denied'] }));
    expect(texts).toContain('Retention (30 days) deleted 1 old backup: `recipe-database-backup-2026-10-01_02-00-00.sql.gz`');
    expect(texts).toContain(':warning: retention did not run: permission denied');
  });

  it('shows a verification: restored counts against those at backup time', () => {
    const verified: BackupVerified = {
      kind: 'verify', measuredAt: at,
      verification: {
        name: NAME, ok: true, problems: [], warnings: [], checks: [{ table: 'recipe_manager.recipes', atBackup: 300, restored: 300, matches: true }],
        scratchDatabase: 'recipedb_verify_0123456789ab', verifiedAt: at, durationMs: 2_400, phases: { integrityMs: 100, restoreMs: 2_000, countMs: 300 },
      },
    };
    const message = backupView(verified);
    expect(headerOf(message)).toBe('Backup verified');
    const texts = mrkdwnOf(message);
    expect(texts).toContain(`:white_check_mark: \`${NAME}\` restores, and its row counts match those at backup time.`);
    expect(texts).toContain('*recipe_manager.recipes*\n:white_check_mark: 300 rows (300 at backup time)');
    expect(texts).toContain('integrity 100ms · restore into a scratch database 2.0s · counts 300ms · total 2.4s · scratch database recipedb_verify_0123456789ab dropped');
    expect(message.text).toBe(`Backup ${NAME} verified`);

    const failed = backupView({ ...verified, verification: { ...verified.verification, ok: false, problems: ['recipe_manager.recipes: 299 rows, 300 at backup time'] } });
    expect(headerOf(failed)).toBe('Backup verification failed');
    expect(mrkdwnOf(failed)).toContain(`:x: \`${NAME}\` failed verification:\n• recipe_manager.recipes: 299 rows, 300 at backup time`);
  });
});

describe('backups view', () => {
  it('says there are none, and how to take one', () => {
    expect(mrkdwnOf(backupsView({ measuredAt: at, dir: DIR, retentionDays: 30, backups: [] }))).toContain(`No backups in ${DIR} yet. \`/recipedb backup\` takes one.`);
  });

  it('lists them newest first with size, age and verification', () => {
    const message = backupsView({
      measuredAt: at, dir: DIR, retentionDays: 30,
      backups: [
        { name: NAME, sizeBytes: 64_100, takenAt: at, trust: 'bot', verification: 'verified' },
        { name: 'recipe-database-backup-2024-01-15_10-30-00.sql.gz', sizeBytes: 60_000, takenAt: new Date('2026-11-29T01:00:00Z'), trust: 'imported', verification: 'never' },
      ],
    });
    expect(headerOf(message)).toBe('Backups (2)');
    const [list, where] = mrkdwnOf(message);
    expect(list).toBe(`• \`${NAME}\` · 62.6 KiB · just now · :white_check_mark: verified\n• \`recipe-database-backup-2024-01-15_10-30-00.sql.gz\` · 58.6 KiB · 2d 2h ago · not verified · imported`);
    expect(where).toContain(`In ${DIR} · 121 KiB in all · kept 30 days`);
    expect(where).toContain('`/recipedb backup verify &lt;name|latest&gt;` proves one restores');
  });

  it('marks the files the bot did not write, or that changed, with the import that makes them usable', () => {
    const planted = 'recipe-database-backup-2099-01-01_00-00-00.sql.gz';
    const message = backupsView({
      measuredAt: at, dir: DIR, retentionDays: 30,
      backups: [
        { name: planted, sizeBytes: 1_000, takenAt: at, trust: 'outside', verification: 'never' },
        { name: NAME, sizeBytes: 64_100, takenAt: at, trust: 'changed', verification: 'verified' },
      ],
    });
    const [list] = mrkdwnOf(message);
    expect(list).toBe(
      `• \`${planted}\` · 1000 B · just now · :warning: not written by the bot — \`backup import ${planted}\` to use it\n` +
        `• \`${NAME}\` · 62.6 KiB · just now · :warning: not the file the bot recorded under this name — \`backup import ${NAME}\` to use it`,
    );
  });
});

describe('scheduled base backup view', () => {
  it('a failed one pings @here in its notification and says the reason once escaped', () => {
    const at = new Date('2026-12-03T02:00:00Z');
    const view = scheduledPitrBackupView({ kind: 'failed', slot: at, reason: 'repository <full> & unreachable', next: new Date('2026-12-04T02:00:00Z'), failedAt: at });
    expect(view.text).toBe('<!here> Scheduled base backup FAILED: repository &lt;full&gt; &amp; unreachable');
    expect(mrkdwnOf(view)[0]).toBe(':rotating_light: <!here> *The scheduled base backup of 2026-12-03 02:00:00 UTC FAILED:* repository &lt;full&gt; &amp; unreachable');
  });
});
