/**
 * The operated server's version, and waiting for it to answer again after its pod was replaced.
 *
 *   await readServerVersion(pool);                  // { version: '15.8', num: 150008, major: 15 }
 *   await waitForServer(pool, { timeoutMs: 60_000 }); // { ok: true, tookMs: 2_130, attempts: 3 }
 */
import type pg from 'pg';
import { describeFailure } from '../failure.js';

export interface ServerVersion {
  /** `server_version`, e.g. 15.8 (a Debian build adds " (Debian 15.8-1.pgdg120+1)", which is left out). */
  version: string;
  num: number;
  major: number;
}

export async function readServerVersion(pool: pg.Pool): Promise<ServerVersion> {
  const { rows } = await pool.query<{ version: string; num: string }>(
    "SELECT split_part(current_setting('server_version'), ' ', 1) AS version, current_setting('server_version_num') AS num",
  );
  const row = rows[0];
  if (row === undefined) throw new Error('the server did not say its version');
  const num = Number(row.num);
  return { version: row.version, num, major: Math.floor(num / 10_000) };
}

export interface ServerBack {
  ok: boolean;
  tookMs: number;
  attempts: number;
  /** Why the last attempt failed, when it never answered. */
  reason: string | null;
}

/** `SELECT 1` until it answers (a restarted server refuses, then accepts) or the timeout. */
export async function waitForServer(pool: pg.Pool, options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<ServerBack> {
  const started = performance.now();
  const end = Date.now() + options.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      // Connections the pool still holds to the old server fail once and are dropped; the next try gets a fresh one.
      await pool.query('SELECT 1');
      return { ok: true, tookMs: performance.now() - started, attempts, reason: null };
    } catch (error) {
      if (Date.now() >= end || options.signal?.aborted) return { ok: false, tookMs: performance.now() - started, attempts, reason: describeFailure(error) };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 1_000, Math.max(10, end - Date.now()))));
  }
}
