/**
 * The App Home's 24 h picture in the state database (`home_charts`, migration 15): the file shared
 * in HOME_CHART_CHANNEL that Home views show, and the claim that lets one replica at a time draw
 * the next one. Whoever opens the tab while a picture is being drawn is noted as a viewer, so the
 * replica that finishes (it may be another one) publishes their Home again with the picture.
 *
 *   if (await claimHomeChart(pool, { channel, by: replicaId, userId, now, ...HOME_CHART_TIMING })) {
 *     … draw and share …
 *     const { viewers, previousFileId } = await finishHomeChart(pool, { channel, by: replicaId, fileId, altText, windowTo, now });
 *   } else await watchHomeChart(pool, { channel, userId, now, drawingTtlMs });
 */
import type pg from 'pg';

export interface HomeChart {
  channel: string;
  /** The file Home views name; null before the first picture and after Slack refused it. */
  fileId: string | null;
  altText: string | null;
  /** The end of the 24 h the picture shows. */
  windowTo: Date | null;
  sharedAt: Date | null;
  /** Why the last attempt failed, when it failed after the last success. */
  error: string | null;
  failedAt: Date | null;
  /** A replica is drawing the next picture (its claim is younger than the drawing deadline). */
  drawing: boolean;
}

export interface HomeChartTiming {
  /** A picture younger than this is not drawn again. */
  refreshMs: number;
  /** After a failure, no new attempt for this long (a channel the bot is not in fails every time). */
  retryMs: number;
  /** A claim older than this belongs to a replica that died while drawing: it may be taken. */
  drawingTtlMs: number;
}

interface Row {
  channel: string;
  file_id: string | null;
  alt_text: string | null;
  window_to: Date | null;
  shared_at: Date | null;
  error: string | null;
  failed_at: Date | null;
  drawing_since: Date | null;
}

const ms = (n: number): string => String(n / 1000);

export async function readHomeChart(pool: pg.Pool, channel: string, now: Date, drawingTtlMs: number): Promise<HomeChart | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM home_charts WHERE channel = $1', [channel]);
  const r = rows[0];
  if (!r) return null;
  const failedLast = r.failed_at !== null && (r.shared_at === null || r.failed_at > r.shared_at);
  return {
    channel: r.channel,
    fileId: r.file_id,
    altText: r.alt_text,
    windowTo: r.window_to,
    sharedAt: r.shared_at,
    error: failedLast ? r.error : null,
    failedAt: failedLast ? r.failed_at : null,
    drawing: r.drawing_since !== null && now.getTime() - r.drawing_since.getTime() < drawingTtlMs,
  };
}

/**
 * True when this caller is to draw the next picture: there is none, or it is older than the
 * refresh, the last failure is older than the retry, and nobody else is drawing. The opener is the
 * first viewer.
 */
export async function claimHomeChart(
  pool: pg.Pool,
  claim: { channel: string; by: string; userId: string; now: Date } & HomeChartTiming,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO home_charts AS h (channel, drawing_by, drawing_since, viewers) VALUES ($1, $2, $3, ARRAY[$4])
     ON CONFLICT (channel) DO UPDATE SET drawing_by = EXCLUDED.drawing_by, drawing_since = EXCLUDED.drawing_since, viewers = EXCLUDED.viewers
     WHERE (h.drawing_since IS NULL OR h.drawing_since <= $3::timestamptz - make_interval(secs => $7::double precision))
       AND (h.file_id IS NULL OR h.shared_at IS NULL OR h.shared_at <= $3::timestamptz - make_interval(secs => $5::double precision))
       AND (h.failed_at IS NULL OR h.failed_at <= $3::timestamptz - make_interval(secs => $6::double precision))`,
    [claim.channel, claim.by, claim.now, claim.userId, ms(claim.refreshMs), ms(claim.retryMs), ms(claim.drawingTtlMs)],
  );
  return rowCount === 1;
}

/** Notes a viewer of a picture being drawn; false when none is (it may have just been finished). */
export async function watchHomeChart(pool: pg.Pool, watch: { channel: string; userId: string; now: Date; drawingTtlMs: number }): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE home_charts SET viewers = CASE WHEN $2 = ANY(viewers) THEN viewers ELSE array_append(viewers, $2) END
     WHERE channel = $1 AND drawing_since > $3::timestamptz - make_interval(secs => $4::double precision)`,
    [watch.channel, watch.userId, watch.now, ms(watch.drawingTtlMs)],
  );
  return rowCount === 1;
}

export interface FinishedDrawing {
  /** False when the claim was taken over meanwhile: the picture just shared is not the one shown. */
  stored: boolean;
  /** Whose Home to publish again. */
  viewers: string[];
  /** The picture this one replaces, to delete from the channel. */
  previousFileId: string | null;
}

export async function finishHomeChart(
  pool: pg.Pool,
  done: { channel: string; by: string; fileId: string; altText: string; windowTo: Date; now: Date },
): Promise<FinishedDrawing> {
  const { rows } = await pool.query<{ previous: string | null; viewers: string[] }>(
    `WITH old AS (SELECT channel, file_id, viewers FROM home_charts WHERE channel = $1 AND drawing_by = $2 FOR UPDATE)
     UPDATE home_charts h SET file_id = $3, alt_text = $4, window_to = $5, shared_at = $6, error = NULL, failed_at = NULL,
       drawing_by = NULL, drawing_since = NULL, viewers = '{}'
     FROM old WHERE h.channel = old.channel
     RETURNING old.file_id AS previous, old.viewers`,
    [done.channel, done.by, done.fileId, done.altText, done.windowTo, done.now],
  );
  const r = rows[0];
  return r ? { stored: true, viewers: r.viewers, previousFileId: r.previous } : { stored: false, viewers: [], previousFileId: null };
}

/** The attempt failed: said on the Home until the next one, which waits for the retry. */
export async function failHomeChart(pool: pg.Pool, failed: { channel: string; by: string; error: string; now: Date }): Promise<string[]> {
  const { rows } = await pool.query<{ viewers: string[] }>(
    `WITH old AS (SELECT channel, viewers FROM home_charts WHERE channel = $1 AND drawing_by = $2 FOR UPDATE)
     UPDATE home_charts h SET error = $3, failed_at = $4, drawing_by = NULL, drawing_since = NULL, viewers = '{}'
     FROM old WHERE h.channel = old.channel
     RETURNING old.viewers`,
    [failed.channel, failed.by, failed.error, failed.now],
  );
  return rows[0]?.viewers ?? [];
}

/**
 * Slack refused the file: the next opening draws a new one. A file refused right after it was
 * shared will be refused again (Slack will not show files of that channel): that counts as a
 * failed attempt, so that the next one waits for the retry instead of sharing a file per opening.
 */
export async function forgetHomeChartFile(pool: pg.Pool, forget: { channel: string; fileId: string; now: Date; freshMs: number }): Promise<void> {
  await pool.query(
    `UPDATE home_charts SET file_id = NULL, shared_at = NULL,
       error = CASE WHEN fresh THEN 'Slack would not show the picture it had just been given (is HOME_CHART_CHANNEL a channel Slack shows files of?)' ELSE error END,
       failed_at = CASE WHEN fresh THEN $3 ELSE failed_at END
     FROM (SELECT shared_at > $3::timestamptz - make_interval(secs => $4::double precision) AS fresh FROM home_charts WHERE channel = $1) AS f
     WHERE channel = $1 AND file_id = $2`,
    [forget.channel, forget.fileId, forget.now, ms(forget.freshMs)],
  );
}
