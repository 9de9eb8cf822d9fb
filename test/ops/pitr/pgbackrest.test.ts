/**
 * How the bot runs pgBackRest: one argument array (a value with spaces or a `;` stays one
 * argument, nothing reaches a shell), a minimal environment (its own PGBACKREST_* credentials,
 * none of the bot's secrets), and a failure in pgBackRest's own words. The real binary answers the
 * failure; a shell script stands in as the "program" only to print what a child is given.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { createPgBackRest, PgBackRestError } from '../../../src/ops/pitr/pgbackrest.js';
import { asServerAccount } from '../../support/local-pitr.js';

const PRINT_ENV_AND_ARGS = ['sh', '-c', 'env; echo ARGS; printf "%s\\n" "$@"', 'pgbackrest'];

describe('createPgBackRest', () => {
  it('passes the stanza, the configuration and the arguments as separate words, with a minimal environment', async () => {
    const pgbackrest = createPgBackRest({
      stanza: 'recipe-database',
      configFile: '/etc/pgbackrest/conf/pgbackrest.conf',
      command: PRINT_ENV_AND_ARGS,
      env: {
        PATH: process.env.PATH,
        SLACK_BOT_TOKEN: 'xoxb-not-for-pgbackrest',
        DATABASE_URL: 'postgres://bot:s3cret@db/recipes',
        PGPASSWORD: 's3cret',
        PGBACKREST_STANZA: 'recipe-database',
        PGBACKREST_REPO1_S3_KEY: 'AKIAEXAMPLE',
        PGBACKREST_REPO1_S3_KEY_SECRET: 'wJalrXUtnFEMI',
      },
    });
    const out = await pgbackrest.run(['restore', '--type=time', '--target=2026-12-03 12:00:00+00; rm -rf /']);
    const [env = '', args = ''] = out.split('ARGS\n');
    expect(args.trimEnd().split('\n')).toEqual(['--stanza=recipe-database', '--config=/etc/pgbackrest/conf/pgbackrest.conf', 'restore', '--type=time', '--target=2026-12-03 12:00:00+00; rm -rf /']);
    const variables = Object.fromEntries(env.trimEnd().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(variables).toMatchObject({ LC_ALL: 'C', TZ: 'UTC', PGBACKREST_REPO1_S3_KEY: 'AKIAEXAMPLE', PGBACKREST_REPO1_S3_KEY_SECRET: 'wJalrXUtnFEMI' });
    for (const name of ['SLACK_BOT_TOKEN', 'DATABASE_URL', 'PGPASSWORD', 'PGBACKREST_STANZA']) expect(variables[name], name).toBeUndefined();
    expect(pgbackrest.describe(['restore', '--target=2026-12-03 12:00:00+00'])).toBe('pgbackrest --stanza=recipe-database restore --target="2026-12-03 12:00:00+00"');
  });

  it('turns pgBackRest\'s own ERROR and HINT lines into the sentence, with its error number', async () => {
    const pgbackrest = createPgBackRest({ stanza: 'nothere', configFile: '/dev/null', command: asServerAccount('pgbackrest'), cwd: os.tmpdir() });
    const failed = await pgbackrest.run(['backup']).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(PgBackRestError);
    expect((failed as PgBackRestError).message).toBe('pgbackrest backup failed: backup command requires option: pg1-path (does this stanza exist?)');
    expect((failed as PgBackRestError).code).toBe(37);
  });

  it('says when pgBackRest is missing, and stops one that runs too long', async () => {
    const missing = createPgBackRest({ stanza: 's', command: ['/nonexistent/pgbackrest'] });
    await expect(missing.run(['info'])).rejects.toThrow(/^pgbackrest info could not be started: .*ENOENT.* \(is pgBackRest installed\?\)$/);
    const slow = createPgBackRest({ stanza: 's', command: ['sh', '-c', 'sleep 5', 'pgbackrest'] });
    await expect(slow.run(['backup'], { timeoutMs: 200 })).rejects.toThrow('pgbackrest backup was stopped: it did not finish within 200ms');
  });
});
