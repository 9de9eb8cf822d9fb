/** The point-in-time recovery part of the configuration (SPEC section 2): off unless PGBACKREST_STANZA is set, one line for a bad value. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('PGBACKREST_* and PITR_* configuration', () => {
  it('leaves point-in-time recovery off without PGBACKREST_STANZA', () => {
    expect(loadConfig({}).pitr).toBeNull();
    expect(loadConfig({ PGBACKREST_STANZA: '', PGBACKREST_CONFIG: '/etc/pgbackrest/conf/pgbackrest.conf' }).pitr).toBeNull();
  });

  it('takes the stanza and configuration file, with the defaults of the schedule and timeouts', () => {
    expect(loadConfig({ PGBACKREST_STANZA: 'recipe-database', PGBACKREST_CONFIG: '/etc/pgbackrest/conf/pgbackrest.conf' }).pitr).toEqual({
      stanza: 'recipe-database',
      configFile: '/etc/pgbackrest/conf/pgbackrest.conf',
      schedule: 'off',
      fullBackupIntervalMs: 7 * 86_400_000,
      restoreTimeoutMs: 30 * 60_000,
    });
    expect(loadConfig({ PGBACKREST_STANZA: 's', PITR_BACKUP_SCHEDULE: '0 3 * * *', PITR_FULL_BACKUP_INTERVAL: '3d', PITR_RESTORE_TIMEOUT: '2h' }).pitr).toMatchObject({
      schedule: '0 3 * * *',
      fullBackupIntervalMs: 3 * 86_400_000,
      restoreTimeoutMs: 7_200_000,
    });
  });

  it('stops start-up with one line naming the variable', () => {
    expect(() => loadConfig({ PGBACKREST_STANZA: 'recipe database' })).toThrow('PGBACKREST_STANZA: must be a pgBackRest stanza name (letters, digits, . _ -)');
    expect(() => loadConfig({ PGBACKREST_STANZA: 's', PGBACKREST_CONFIG: 'pgbackrest.conf' })).toThrow('PGBACKREST_CONFIG: must be an absolute path to a pgbackrest.conf');
    expect(() => loadConfig({ PITR_BACKUP_SCHEDULE: '0 3 * * *' })).toThrow('PITR_BACKUP_SCHEDULE: needs PGBACKREST_STANZA (point-in-time recovery is not configured)');
    expect(() => loadConfig({ PGBACKREST_STANZA: 's', PITR_BACKUP_SCHEDULE: '0 25 * * *' })).toThrow(/^PITR_BACKUP_SCHEDULE: "0 25 \* \* \*" is not a cron expression/);
    expect(() => loadConfig({ PGBACKREST_STANZA: 's', PITR_RESTORE_TIMEOUT: 'soon' })).toThrow('PITR_RESTORE_TIMEOUT: must be a duration like 30s, 15m or 2h');
  });

  it('counts pgBackRest\'s credentials from the environment as secrets, never to be logged or shown', () => {
    const { secrets } = loadConfig({ PGBACKREST_STANZA: 's', PGBACKREST_REPO1_S3_KEY_SECRET: 'wJalrXUtnFEMIK7MDENG', PGBACKREST_REPO1_CIPHER_PASS: 'correct horse battery', PGBACKREST_REPO1_S3_BUCKET: 'not-a-secret' });
    expect(secrets).toEqual(expect.arrayContaining(['wJalrXUtnFEMIK7MDENG', 'correct horse battery']));
    expect(secrets).not.toContain('not-a-secret');
  });
});
