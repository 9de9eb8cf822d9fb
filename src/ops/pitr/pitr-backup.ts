/**
 * A pgBackRest base backup (`pitr backup [--full]`, and the scheduled ones): incremental unless
 * asked for a full one (pgBackRest itself makes the first one full), its progress from the
 * per-file percentages pgBackRest prints at `--log-level-console=detail`, and the backup as
 * `info` then records it. pgBackRest expires what its retention settings say right after.
 *
 *   const done = await takePitrBackup(pgbackrest, { type: 'incr', onProgress: (p) => ctx.progress(p.text) });
 *   // { backup: { label: '20261203-121019F_20261203-121025I', type: 'incr', … }, expired: [] }
 */
import { formatDuration } from '../../duration.js';
import { failure } from '../failure.js';
import type { PgBackRest } from './pgbackrest.js';
import { readStanzaInfo, type BaseBackup, type StanzaInfo } from './pgbackrest-info.js';

export interface PitrBackupProgress {
  /** Per cent of the files copied, when pgBackRest has said. */
  percent: number | null;
  text: string;
}

export interface PitrBackupOptions {
  type: 'full' | 'incr';
  signal?: AbortSignal;
  onProgress?: (progress: PitrBackupProgress) => Promise<void>;
  /** How often progress is passed on, at most. */
  progressEveryMs?: number;
}

export interface PitrBackupDone {
  backup: BaseBackup;
  requested: 'full' | 'incr';
  /** Backup labels pgBackRest's retention expired afterwards. */
  expired: string[];
  tookMs: number;
  stanza: StanzaInfo;
}

const LABEL = /\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?/g;

export async function takePitrBackup(pgbackrest: PgBackRest, options: PitrBackupOptions): Promise<PitrBackupDone> {
  const started = performance.now();
  let label: string | undefined;
  const expired = new Set<string>();
  let phase = 'starting (checkpoint)';
  let percent: number | null = null;
  let shownAt = 0;
  let pending: Promise<void> = Promise.resolve();
  const show = (force = false): void => {
    const now = performance.now();
    if (!force && now - shownAt < (options.progressEveryMs ?? 3_000)) return;
    shownAt = now;
    const text = `${options.type === 'full' ? 'Full' : 'Incremental'} base backup: ${phase}${percent === null ? '' : `, ${percent.toFixed(0)}% copied`} (${formatDuration(now - started)})`;
    const progress = { percent, text };
    pending = pending.then(() => options.onProgress?.(progress)).catch(() => undefined);
  };
  await pgbackrest.run(['backup', `--type=${options.type}`, '--log-level-console=detail'], {
    signal: options.signal,
    onLine: (line) => {
      const copied = /DETAIL: backup file .*\(([\d.]+\s*\w*B), ([\d.]+)%\)/.exec(line);
      if (copied) {
        percent = Number(copied[2]);
        phase = 'copying files';
        show();
        return;
      }
      const newLabel = /new backup label = (\S+)/.exec(line);
      if (newLabel) label = newLabel[1];
      if (/execute non-exclusive backup stop/.test(line)) {
        phase = 'waiting for the last WAL to be archived';
        show(true);
      }
      if (/expire/.test(line) && /backup set/.test(line)) for (const [found] of line.matchAll(LABEL)) expired.add(found);
    },
  });
  await pending;
  if (label === undefined) throw failure('pgbackrest backup finished without naming its backup (no "new backup label" line)');
  const stanza = await readStanzaInfo(pgbackrest, { signal: options.signal });
  const backup = stanza.backups.find((b) => b.label === label);
  if (!backup) throw failure(`pgbackrest backup reported ${label}, which pgbackrest info does not list`);
  return { backup, requested: options.type, expired: [...expired].filter((l) => l !== label), tookMs: performance.now() - started, stanza };
}
