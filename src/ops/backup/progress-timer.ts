/**
 * Progress on a timer rather than per chunk: the reader (a Slack message edit) is slow and rate
 * limited, and a slow reader must never hold up the data.
 *
 *   const stop = reportProgress(() => bytesSoFar, (bytes) => ctx.progress(`${bytes}`), 2000);
 *   … stop();
 */
export function reportProgress(read: () => number, onProgress: ((value: number) => unknown) | undefined, intervalMs: number): () => void {
  if (onProgress === undefined) return () => undefined;
  let reported = 0;
  let busy = false;
  const timer = setInterval(() => {
    const value = read();
    // Never twice at once, never an unchanged figure.
    if (busy || value === reported) return;
    reported = value;
    busy = true;
    Promise.resolve()
      .then(() => onProgress(value))
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
