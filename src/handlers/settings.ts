/**
 * `settings`: the runbook's memory and connection settings against PgTune-like rules of thumb.
 * The server's memory is invisible from SQL; the database container's memory limit gives it. With
 * it, memory settings get a verdict; without it,
 * they are compared with each other (shared_buffers ≈ 25% and effective_cache_size ≈ 50–75% of the
 * same memory) or the rule is stated without one.
 *
 *   judgeSettings(await readSettings(pool, SETTING_NAMES), 8 * 1024 ** 3) // [{ name: 'shared_buffers', verdict: 'review', … }]
 */
import { readMemoryLimit } from '../ops/kube/memory-limit.js';
import { readSettings, type ServerSetting } from '../ops/postgres/settings.js';
import { describeFailure } from '../ops/failure.js';
import { defineHandler, noArgs } from './handler.js';

/** In the order the answer lists them. */
export const CHECKED_SETTINGS = [
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'maintenance_work_mem',
  'max_connections',
  'wal_buffers',
  'random_page_cost',
  'checkpoint_completion_target',
  'autovacuum',
] as const;

/** Read for the rules only, not listed. */
const SUPPORTING_SETTINGS = ['track_counts'] as const;

/** `ok` and `review` are verdicts; `rule` states the rule of thumb when the facts for a verdict are missing. */
export type SettingVerdict = 'ok' | 'review' | 'rule';

export interface SettingCheck extends ServerSetting {
  verdict: SettingVerdict;
  recommendation: string;
}

export interface SettingsResult {
  measuredAt: Date;
  /** The server's memory when known; verdicts on memory settings depend on it. */
  memoryBytes: number | null;
  /** Where the memory comes from, or why it is unknown. */
  memorySource: string;
  checks: SettingCheck[];
}

export const settingsHandler = defineHandler({
  name: 'settings',
  usage: 'settings',
  summary: 'memory, connection, checkpoint and autovacuum settings against rules of thumb',
  args: noArgs,
  async run(_args, ctx): Promise<SettingsResult> {
    const { database, timeouts } = ctx.config;
    const [settings, memory] = await Promise.all([
      readSettings(ctx.db, [...CHECKED_SETTINGS, ...SUPPORTING_SETTINGS]),
      ctx.kube
        ? readMemoryLimit(ctx.kube, database, AbortSignal.timeout(timeouts.sourceMs)).catch((error: unknown) => ({ ok: false as const, reason: describeFailure(error) }))
        : { ok: false as const, reason: 'Kubernetes is not configured' },
    ]);
    const memoryBytes = memory.ok ? memory.bytes : null;
    const memorySource = memory.ok ? `the memory limit of the container ${database.container} (${memory.limit})` : memory.reason;
    return { measuredAt: ctx.now(), memoryBytes, memorySource, checks: judgeSettings(settings, memoryBytes) };
  },
});

const MB = 1024 ** 2;
const GB = 1024 ** 3;

/** Bytes the way postgresql.conf takes them, so a suggestion can be pasted: `2GB`, `1365MB`, `512kB`. */
export function formatSettingBytes(bytes: number): string {
  if (bytes >= GB && bytes % GB === 0) return `${bytes / GB}GB`;
  if (bytes >= MB) return `${Math.round(bytes / MB)}MB`;
  return `${Math.max(1, Math.round(bytes / 1024))}kB`;
}

const percentOf = (part: number, whole: number): string => `${Math.round((part / whole) * 100)}%`;

interface Facts {
  memory: number | null;
  sharedBuffers: number;
  effectiveCache: number;
  workMem: number;
  maintenanceWorkMem: number;
  maxConnections: number;
}

type Rule = (setting: ServerSetting, facts: Facts, all: Map<string, ServerSetting>) => { verdict: SettingVerdict; recommendation: string };

const review = (recommendation: string) => ({ verdict: 'review' as const, recommendation });
const ok = (recommendation: string) => ({ verdict: 'ok' as const, recommendation });
const rule = (recommendation: string) => ({ verdict: 'rule' as const, recommendation });

const RULES: Record<(typeof CHECKED_SETTINGS)[number], Rule> = {
  shared_buffers(_s, { memory, sharedBuffers: sb, effectiveCache: ecs }) {
    if (memory !== null) {
      const share = sb / memory;
      const target = formatSettingBytes(memory / 4);
      if (share < 0.15) return review(`${percentOf(sb, memory)} of RAM: about 25% (${target}) is the usual start`);
      if (share > 0.4) return review(`${percentOf(sb, memory)} of RAM: above 40% rarely helps, about 25% (${target})`);
      return ok(`${percentOf(sb, memory)} of RAM; about 25% is the rule of thumb`);
    }
    // 25% of the memory whose 50–75% effective_cache_size claims: a third to a half of it.
    if (sb <= ecs && sb < ecs / 6) {
      return review(`small next to effective_cache_size (${formatSettingBytes(ecs)}): if that is right, about ${formatSettingBytes(ecs / 3)}–${formatSettingBytes(ecs / 2)}`);
    }
    return rule('about 25% of the server\'s memory');
  },
  effective_cache_size(_s, { memory, sharedBuffers: sb, effectiveCache: ecs }) {
    if (memory !== null) {
      const range = `50–75% (${formatSettingBytes(memory / 2)}–${formatSettingBytes(memory * 0.75)})`;
      if (ecs / memory < 0.5) return review(`${percentOf(ecs, memory)} of RAM: ${range} lets the planner count on the OS cache`);
      if (ecs / memory > 0.8) return review(`${percentOf(ecs, memory)} of RAM, more than can cache data: ${range}`);
      return ok(`${percentOf(ecs, memory)} of RAM; 50–75% is the rule of thumb`);
    }
    if (ecs < sb) return review(`below shared_buffers (${formatSettingBytes(sb)}): it should count shared_buffers plus the OS cache`);
    return rule('about 50–75% of the server\'s memory; a planner hint, allocates nothing');
  },
  work_mem(_s, { memory, sharedBuffers: sb, effectiveCache: ecs, workMem: wm, maxConnections }) {
    const worst = `${maxConnections} connections × ${formatSettingBytes(wm)} = ${formatSettingBytes(wm * maxConnections)}`;
    if (memory !== null) {
      // PgTune: what shared_buffers leaves, shared by every connection running about three sorts or hashes.
      const fits = Math.max(4 * MB, (memory - sb) / (3 * maxConnections));
      if (wm > 2 * fits) return review(`high: ${worst}, and a query may use it several times; about ${formatSettingBytes(fits)} fits`);
      return ok(`fits: ${worst}`);
    }
    if (wm * maxConnections > ecs) return review(`${worst}, more than effective_cache_size: lower it or max_connections`);
    return rule(`per sort or hash per connection: ${worst}; keep that well under the server's memory`);
  },
  maintenance_work_mem(_s, { memory, maintenanceWorkMem: mwm }) {
    const ruleText = '1/16 of RAM, at most 2GB; each autovacuum worker may use it';
    if (memory !== null) {
      const target = Math.min(memory / 16, 2 * GB);
      if (mwm < target / 2) return review(`about ${formatSettingBytes(target)} (${ruleText}) speeds up VACUUM and CREATE INDEX`);
      if (mwm > memory / 8) return review(`high: about ${formatSettingBytes(target)} (${ruleText})`);
      return ok(ruleText);
    }
    return rule(ruleText);
  },
  max_connections(_s, { maxConnections }) {
    if (maxConnections > 500) return review('each connection costs memory: put a pooler (PgBouncer) in front rather than raising it');
    return ok('past a few hundred, a pooler (PgBouncer) beats raising it');
  },
  wal_buffers(s, { sharedBuffers: sb }) {
    const automatic = Math.min(Math.max(sb / 32, 64 * 1024), 16 * MB);
    if (s.source === 'default' || s.source === 'override') return ok('sized automatically: 1/32 of shared_buffers, at most 16MB');
    if ((s.bytes ?? 0) < automatic) return review(`below the automatic size (${formatSettingBytes(automatic)}): set it to -1`);
    return ok('16MB suits busy writers');
  },
  random_page_cost(s) {
    if ((s.number ?? 4) <= 2) return ok('suits SSD and cloud volumes');
    return rule(`${s.value} assumes spinning disks; 1.1 suits SSD and most cloud volumes`);
  },
  checkpoint_completion_target(s) {
    if ((s.number ?? 0.9) < 0.9) return review('0.9 spreads checkpoint writes out (the default since PostgreSQL 14)');
    return ok('spreads checkpoint writes out');
  },
  autovacuum(s, _facts, all) {
    if (s.value !== 'on') return review('turn it on: without it dead tuples pile up and transaction IDs can wrap around');
    if (all.get('track_counts')?.value === 'off') return review('does nothing while track_counts is off: turn that on');
    return ok('cleans up dead tuples; see `bloat`');
  },
};

export function judgeSettings(settings: Map<string, ServerSetting>, memoryBytes: number | null): SettingCheck[] {
  const bytes = (name: string): number => settings.get(name)?.bytes ?? 0;
  const facts: Facts = {
    memory: memoryBytes,
    sharedBuffers: bytes('shared_buffers'),
    effectiveCache: bytes('effective_cache_size'),
    workMem: bytes('work_mem'),
    maintenanceWorkMem: bytes('maintenance_work_mem'),
    maxConnections: settings.get('max_connections')?.number ?? 100,
  };
  const checks: SettingCheck[] = [];
  for (const name of CHECKED_SETTINGS) {
    const setting = settings.get(name);
    if (setting) checks.push({ ...setting, ...RULES[name](setting, facts, settings) });
  }
  return checks;
}
