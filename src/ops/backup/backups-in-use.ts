/**
 * Backups this process is reading right now (verifying, restoring), which retention must not
 * delete under them. Per process: another replica's reads are not seen (see the lock for backups).
 *
 *   const done = markBackupInUse(name);
 *   try { … } finally { done(); }
 */
const readers = new Map<string, number>();

export function markBackupInUse(name: string): () => void {
  readers.set(name, (readers.get(name) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const left = (readers.get(name) ?? 1) - 1;
    if (left > 0) readers.set(name, left);
    else readers.delete(name);
  };
}

export function backupsInUse(): ReadonlySet<string> {
  return new Set(readers.keys());
}
