/**
 * Scheduled pgBackRest base backups (PITR_BACKUP_SCHEDULE): two replicas sharing one state
 * database tick the same slot at once and one backup is taken, for real, on a test cluster that
 * archives with pgBackRest; the next slot is incremental, and full again once the newest full
 * backup is older than PITR_FULL_BACKUP_INTERVAL. OPS_CHANNEL is told through the notices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { scheduledPitrBackupView } from '../../src/bot/views/scheduled-pitr-backup-view.js';
import { parseCronSchedule } from '../../src/cron-schedule.js';
import { createPitrBackupScheduler } from '../../src/jobs/pitr-backup-scheduler.js';
import type { ScheduledPitrBackupReport } from '../../src/jobs/scheduled-pitr-backup-report.js';
import { readStanzaInfo } from '../../src/ops/pitr/pgbackrest-info.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startPitrPostgres, type PitrPostgres } from '../support/local-pitr.js';
import { createTestDatabase } from '../support/postgres.js';
import { openTestServices, type TestServices } from '../support/services.js';

describe('PITR_BACKUP_SCHEDULE across two replicas', () => {
  let cluster: PitrPostgres;
  let replicas: TestServices[];
  const reports: ScheduledPitrBackupReport[] = [];
  const everyMinute = parseCronSchedule('* * * * *');

  beforeAll(async () => {
    cluster = await startPitrPostgres();
    await cluster.pgbackrest.run(['stanza-create']);
    const stateDatabaseUrl = await createTestDatabase('state');
    const env = { PGBACKREST_STANZA: cluster.stanza, PGBACKREST_CONFIG: cluster.configFile };
    replicas = await Promise.all([0, 1].map(() => openTestServices({ databaseUrl: cluster.url(), stateDatabaseUrl, env, pitr: cluster.services })));
    for (const replica of replicas) replica.notices.listen(async (notice) => void (notice.kind === 'scheduled-pitr-backup' && reports.push(notice.report)));
  }, 120_000);
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.close()));
    await cluster?.cleanup();
  });

  const schedulers = (fullBackupIntervalMs: number) =>
    replicas.map((services, i) => createPitrBackupScheduler(services, cluster.services, { schedule: everyMinute, fullBackupIntervalMs, instance: `replica-${i}` }));

  it('one slot, ticked by both replicas at once, is one full base backup', async () => {
    const now = new Date();
    const results = await Promise.all(schedulers(7 * 86_400_000).map((s) => s.tick(now)));
    const ran = results.filter((r) => r.kind === 'ran');
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ ok: true, type: 'full' });
    expect(results.filter((r) => r.kind === 'claimed-elsewhere')).toHaveLength(1);
    const info = await readStanzaInfo(cluster.pgbackrest);
    expect(info.backups.map((b) => b.type)).toEqual(['full']);
    expect(reports.at(-1)).toMatchObject({ kind: 'ok', type: 'full', why: 'there is no full backup yet' });
    const posted = renderBlocks(scheduledPitrBackupView(reports.at(-1) as ScheduledPitrBackupReport)).text;
    expect(posted).toMatch(/Scheduled base backup `\d{8}-\d{6}F` \(full\) taken: .* copied, .* stored, in /);
    const audit = await readAudit((replicas[0] as TestServices).state, 5);
    expect(audit.map((e) => e.action)).toContain('pitr.backup.scheduled');
  }, 120_000);

  it('the next slot is incremental; past PITR_FULL_BACKUP_INTERVAL it is full again', async () => {
    const nextMinute = new Date(Date.now() + 60_000);
    const [incremental] = await Promise.all(schedulers(7 * 86_400_000).slice(0, 1).map((s) => s.tick(nextMinute)));
    expect(incremental).toMatchObject({ kind: 'ran', ok: true, type: 'incr' });
    expect(reports.at(-1)).toMatchObject({ type: 'incr', why: expect.stringMatching(/^on the full backup \d{8}-\d{6}F, .* old$/) });

    const later = new Date(Date.now() + 120_000);
    const [full] = await Promise.all(schedulers(60_000).slice(1).map((s) => s.tick(later)));
    expect(full).toMatchObject({ kind: 'ran', ok: true, type: 'full' });
    expect(reports.at(-1)).toMatchObject({ type: 'full', why: expect.stringMatching(/^the newest full backup is .* old \(PITR_FULL_BACKUP_INTERVAL 1m\)$/) });
    expect((await readStanzaInfo(cluster.pgbackrest)).backups.map((b) => b.type)).toEqual(['full', 'incr', 'full']);
  }, 180_000);
});
