/**
 * deploy/database/pitr-restore.sh, the database pod's init container: whatever its ConfigMap
 * holds, it runs nothing but `pgbackrest restore` with checked values — no request starts the
 * database as it is, a request already done is not done again, and a bad value is refused before
 * pgBackRest runs. (The restore itself runs for real in test/bot/pitr-restore.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PITR_RESTORE_SCRIPT } from './support/local-pitr.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pitr-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The script, with a stand-in `pgbackrest` first on the PATH that only prints how it was called. */
function run(env: Record<string, string>): { code: number | null; out: string } {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'pgbackrest'), '#!/bin/sh\necho "PGBACKREST CALLED: $*"\n', { mode: 0o755 });
  const result = spawnSync('sh', [PITR_RESTORE_SCRIPT], {
    env: { PATH: `${bin}:/usr/bin:/bin`, PGDATA: path.join(dir, 'pgdata'), PGBACKREST_STANZA: 'recipe-database', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const good = { PITR_RESTORE_ID: 'apr_0123456789ab', PITR_RESTORE_TARGET: '2026-12-03 12:10:23.555+00', PITR_RESTORE_SET: '20261203-121019F_20261203-121025I', PITR_RESTORE_TIMELINE: '1' };

describe('pitr-restore.sh', () => {
  it('without a request starts the database as it is', () => {
    const { code, out } = run({ PITR_RESTORE_ID: '' });
    expect(code).toBe(0);
    expect(out).toContain('no point-in-time restore requested');
    expect(out).not.toContain('PGBACKREST CALLED');
  });

  it('runs exactly pgbackrest restore with the request, then leaves a marker so a restart does not restore again', () => {
    const first = run(good);
    expect(first.code).toBe(0);
    expect(first.out).toContain(
      'PGBACKREST CALLED: --stanza=recipe-database --log-level-console=info restore --delta --type=time --target=2026-12-03 12:10:23.555+00 --target-action=promote --set=20261203-121019F_20261203-121025I --target-timeline=1',
    );
    const again = run(good);
    expect(again.code).toBe(0);
    expect(again.out).toContain('restore apr_0123456789ab was already done');
    expect(again.out).not.toContain('PGBACKREST CALLED');
  });

  it('refuses a value outside its pattern before pgBackRest runs', () => {
    for (const [key, value] of [
      ['PITR_RESTORE_TARGET', '2026-12-03 12:10:23'],
      ['PITR_RESTORE_TARGET', "2026-12-03 12:10:23+00' --type=immediate"],
      ['PITR_RESTORE_SET', '--repo=2'],
      ['PITR_RESTORE_TIMELINE', 'latest'],
      ['PITR_RESTORE_ID', 'x; rm -rf /'],
    ] as const) {
      const { code, out } = run({ ...good, PITR_RESTORE_ID: key === 'PITR_RESTORE_ID' ? value : `apr_${key.length}bad`, [key]: value });
      expect(code, `${key}=${value}`).toBe(64);
      expect(out).toContain('pitr-restore: refusing the request');
      expect(out).not.toContain('PGBACKREST CALLED');
    }
  });
});
