/**
 * The pure parts of maintenance: a setting value judged from pg_settings' description alone, the
 * progress line from a progress view's row, and the verdict of a run from its record.
 */
import { describe, expect, it } from 'vitest';
import { formatSettingValue, validateSettingValue } from '../../src/handlers/setting-value.js';
import { concludeMaintenance } from '../../src/handlers/maintenance-procedure.js';
import { describeProgress } from '../../src/ops/postgres/maintenance-progress.js';
import type { SettingDefinition } from '../../src/ops/postgres/setting-change.js';
import { loadConfig } from '../../src/config.js';

const setting = (over: Partial<SettingDefinition>): SettingDefinition => ({
  name: 'work_mem', shown: '4MB', setting: '4096', unit: 'kB', vartype: 'integer', min: 64, max: 2147483647, enumValues: [],
  context: 'user', source: 'default', sourceFile: null, pendingRestart: false, defaultValue: '4096', description: '', ...over,
});

describe('setting values', () => {
  it('converts units to the base unit and writes them as PostgreSQL does', () => {
    expect(validateSettingValue(setting({}), '8mb')).toEqual({ ok: true, value: '8MB', base: 8192 });
    expect(validateSettingValue(setting({}), '1.5GB')).toEqual({ ok: true, value: '1.5GB', base: 1572864 });
    expect(validateSettingValue(setting({ name: 'shared_buffers', unit: '8kB', min: 16, max: 1073741823 }), '512MB')).toEqual({ ok: true, value: '512MB', base: 65536 });
    expect(validateSettingValue(setting({ name: 'statement_timeout', unit: 'ms', min: 0 }), '30S')).toEqual({ ok: true, value: '30s', base: 30000 });
    expect(validateSettingValue(setting({ name: 'checkpoint_timeout', unit: 's', min: 30, max: 86400 }), '10min')).toEqual({ ok: true, value: '10min', base: 600 });
  });

  it('refuses out of range, wrong units and wrong types', () => {
    expect(validateSettingValue(setting({}), '32kB')).toMatchObject({ ok: false, reason: '32kB is outside the range of `work_mem`: 64kB to 2147483647kB' });
    expect(validateSettingValue(setting({ name: 'checkpoint_timeout', unit: 's', min: 30, max: 86400 }), '2d')).toMatchObject({ ok: false, reason: '2d is outside the range of `checkpoint_timeout`: 30s to 1d' });
    expect(validateSettingValue(setting({ name: 'max_connections', unit: null, min: 1, max: 262143 }), '100MB')).toMatchObject({ ok: false, reason: '`max_connections` takes a plain number, without a unit' });
    expect(validateSettingValue(setting({ name: 'statement_timeout', unit: 'ms' }), '5GB')).toMatchObject({ ok: false, reason: '"GB" is not a unit of `statement_timeout`: use us, ms, s, min, h, d' });
    expect(validateSettingValue(setting({ vartype: 'real', name: 'random_page_cost', unit: null, min: 0, max: 1e308 }), '1.1')).toEqual({ ok: true, value: '1.1', base: 1.1 });
    expect(validateSettingValue(setting({ vartype: 'enum', name: 'wal_level', enumValues: ['minimal', 'replica', 'logical'] }), 'LOGICAL')).toEqual({ ok: true, value: 'logical', base: null });
    expect(validateSettingValue(setting({ vartype: 'bool', name: 'autovacuum' }), 'yes')).toEqual({ ok: true, value: 'on', base: null });
    expect(validateSettingValue(setting({ vartype: 'string', name: 'search_path' }), 'a\nb')).toMatchObject({ ok: false });
  });

  it('shows base values with the largest unit that divides them', () => {
    expect(formatSettingValue(16384, '8kB')).toBe('128MB');
    expect(formatSettingValue(300, 's')).toBe('5min');
    expect(formatSettingValue(-1, 'ms')).toBe('-1');
    expect(formatSettingValue(100, null)).toBe('100');
  });
});

describe('progress lines', () => {
  it('say the phase and how far it got', () => {
    expect(describeProgress({ command: 'VACUUM FULL', phase: 'seq scanning heap', done: 2536, total: 3822, unit: 'blocks', waitingForLock: false })).toBe(
      'seq scanning heap 66% (2,536 of 3,822 blocks)',
    );
    expect(describeProgress({ command: 'CREATE INDEX', phase: 'building index: sorting live tuples', done: null, total: null, unit: null, waitingForLock: false })).toBe(
      'building index: sorting live tuples',
    );
    expect(describeProgress({ command: 'VACUUM FULL', phase: '', done: null, total: null, unit: null, waitingForLock: true })).toBe('waiting for a lock');
    expect(describeProgress(null)).toBe('');
  });
});

describe('the verdict of a maintenance run', () => {
  const step = (number: number, title: string, status: 'ok' | 'failed' | 'not-run', note?: string) => ({ number, title, status, ms: 10, note });

  it('is done when every statement went fine', () => {
    expect(concludeMaintenance('VACUUM of 2 tables', 2, { cancelledBy: null }, { steps: [step(1, 'A', 'ok'), step(2, 'B', 'ok')], tookMs: 1500 })).toEqual({
      ok: true, summary: 'VACUUM of 2 tables: done in 1.5s', endState: [],
    });
  });

  it('says who cancelled, what was done and what was not started', () => {
    const c = concludeMaintenance('VACUUM of 3 tables', 3, { cancelledBy: 'U_BOB' }, {
      steps: [step(1, 'A', 'ok'), step(2, 'B', 'failed', 'cancelled by @U_BOB'), step(3, 'C', 'not-run')],
      failed: { number: 2, title: 'B', reason: 'cancelled by @U_BOB' },
      tookMs: 10,
    });
    expect(c.summary).toBe('VACUUM of 3 tables: cancelled by @U_BOB (1 of 3 done)');
    expect(c.endState).toEqual(['Done: A', 'Not done: B (a statement that fails or is cancelled changes nothing)', 'Not started: C']);
  });

  it('points to `locks` when a lock could not be had', () => {
    const reason = 'gave up after 4 attempts: it could not get its lock within 5.0s (MAINTENANCE_LOCK_TIMEOUT) each time';
    const c = concludeMaintenance('VACUUM FULL of 1 table', 1, { cancelledBy: null }, { steps: [step(1, 'A', 'failed', reason)], failed: { number: 1, title: 'A', reason }, tookMs: 10 });
    expect(c.summary).toBe('VACUUM FULL of 1 table: A could not get its lock (0 of 1 done)');
    expect(c.next?.[0]).toContain('`locks`');
  });
});

describe('configuration', () => {
  it('MAINTENANCE_LOCK_TIMEOUT defaults to 5s and must be a duration', () => {
    expect(loadConfig({}).maintenance).toEqual({ lockTimeoutMs: 5_000, progressIntervalMs: 3_000 });
    expect(loadConfig({ MAINTENANCE_LOCK_TIMEOUT: '750ms' }).maintenance.lockTimeoutMs).toBe(750);
    expect(() => loadConfig({ MAINTENANCE_LOCK_TIMEOUT: 'soon' })).toThrow('MAINTENANCE_LOCK_TIMEOUT: must be a duration like 30s, 15m or 2h');
  });
});

describe('help', () => {
  it('lists every command whole, however many there are', async () => {
    const { COMMANDS } = await import('../../src/bot/commands.js');
    const { helpView } = await import('../../src/bot/views/help-view.js');
    const { renderBlocks } = await import('../../src/bot/blocks-to-text.js');
    const text = renderBlocks(helpView({ commands: COMMANDS.map((c) => c.info) }), { width: 1000 }).text;
    for (const c of COMMANDS) expect(text).toContain(`/recipedb ${c.info.usage}`);
    expect(text).toContain('/recipedb vacuum [<table>…] · vacuum full <table>…');
    expect(text).toContain('/recipedb settings · settings set <name> <value> · settings reset <name>');
  });
});
