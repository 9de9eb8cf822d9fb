/**
 * `pgbackrest info --output=json`, read into the stanza's base backups and WAL archive (the shape
 * observed with 2.45: /work/research/pitr.md). Timestamps there are whole epoch seconds; the
 * stanza's system-id is past 2^53 and is not read.
 *
 *   const stanza = await readStanzaInfo(pgbackrest); // { status: { code: 0, message: 'ok' }, backups: [oldest … newest], archives: [{ id: '15-1', min, max }] }
 */
import { z } from 'zod';
import type { PgBackRest } from './pgbackrest.js';
import { isLsn, isWalSegment, parseLsn, walTimeline } from './wal.js';
import { failure } from '../failure.js';

export type BaseBackupType = 'full' | 'diff' | 'incr';

export interface BaseBackup {
  label: string;
  type: BaseBackupType;
  startedAt: Date;
  stoppedAt: Date;
  durationMs: number;
  /** The database as restored from this set, and what this backup copied itself. */
  sizeBytes: number;
  deltaBytes: number;
  /** In the repository (compressed): the whole set, and this backup alone. */
  repoSizeBytes: number;
  repoDeltaBytes: number;
  startLsn: bigint;
  stopLsn: bigint;
  startWal: string;
  stopWal: string;
  timeline: number;
  /** The labels it depends on (its full and earlier incrementals). */
  references: string[];
  /** pgBackRest found page checksum errors while copying. */
  error: boolean;
}

export interface WalArchive {
  /** `15-1`: PostgreSQL version and pgBackRest's database id. */
  id: string;
  min: string | null;
  max: string | null;
}

export interface StanzaInfo {
  name: string;
  /** 0 ok; 1 missing stanza path; 2 no valid backups; 3 missing stanza data; … (pgBackRest's own message alongside). */
  status: { code: number; message: string; backupRunning: boolean };
  /** Oldest first. */
  backups: BaseBackup[];
  archives: WalArchive[];
}

const lsn = z.string().refine(isLsn, 'an LSN');
const segment = z.string().refine(isWalSegment, 'a WAL segment name');

const backupJson = z.object({
  label: z.string().min(1),
  type: z.enum(['full', 'diff', 'incr']),
  timestamp: z.object({ start: z.number(), stop: z.number() }),
  lsn: z.object({ start: lsn, stop: lsn }),
  archive: z.object({ start: segment, stop: segment }),
  info: z.object({
    size: z.number(),
    delta: z.number(),
    repository: z.object({ size: z.number().optional(), delta: z.number().optional() }).default({}),
  }),
  reference: z.array(z.string()).nullable().default(null),
  error: z.boolean().optional().default(false),
});

const stanzaJson = z.object({
  name: z.string(),
  status: z.object({
    code: z.number(),
    message: z.string(),
    lock: z.object({ backup: z.object({ held: z.boolean() }).optional() }).optional(),
  }),
  backup: z.array(backupJson).default([]),
  archive: z.array(z.object({ id: z.string(), min: segment.nullable().optional(), max: segment.nullable().optional() })).default([]),
});

const INFO_TIMEOUT_MS = 60_000;

export async function readStanzaInfo(pgbackrest: PgBackRest, options: { signal?: AbortSignal } = {}): Promise<StanzaInfo> {
  const text = await pgbackrest.run(['info', '--output=json'], { timeoutMs: INFO_TIMEOUT_MS, signal: options.signal });
  return parseStanzaInfo(text, pgbackrest.stanza);
}

export function parseStanzaInfo(text: string, stanza: string): StanzaInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw failure('pgbackrest info did not print JSON', error);
  }
  const parsed = z.array(stanzaJson).safeParse(json);
  if (!parsed.success) throw failure(`pgbackrest info printed JSON the bot does not understand (${parsed.error.issues[0]?.message ?? 'unknown shape'})`);
  const found = parsed.data.find((s) => s.name === stanza);
  if (!found) throw failure(`pgbackrest info knows no stanza ${stanza}`);
  return {
    name: found.name,
    status: { code: found.status.code, message: found.status.message, backupRunning: found.status.lock?.backup?.held ?? false },
    backups: found.backup.map(toBaseBackup).sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime()),
    archives: found.archive.map((a) => ({ id: a.id, min: a.min ?? null, max: a.max ?? null })),
  };
}

function toBaseBackup(b: z.infer<typeof backupJson>): BaseBackup {
  return {
    label: b.label,
    type: b.type,
    startedAt: new Date(b.timestamp.start * 1000),
    stoppedAt: new Date(b.timestamp.stop * 1000),
    durationMs: (b.timestamp.stop - b.timestamp.start) * 1000,
    sizeBytes: b.info.size,
    deltaBytes: b.info.delta,
    repoSizeBytes: b.info.repository.size ?? 0,
    repoDeltaBytes: b.info.repository.delta ?? 0,
    startLsn: parseLsn(b.lsn.start),
    stopLsn: parseLsn(b.lsn.stop),
    startWal: b.archive.start,
    stopWal: b.archive.stop,
    timeline: walTimeline(b.archive.start),
    references: b.reference ?? [],
    error: b.error,
  };
}

/** The archive the database writes to now (the last: a `stanza-upgrade` after a major upgrade adds one). */
export function currentArchive(info: StanzaInfo): WalArchive | undefined {
  return info.archives[info.archives.length - 1];
}
