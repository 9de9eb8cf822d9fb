/**
 * The sidecar `<backup>.json` next to a backup: what was known when it was written (checksum,
 * sizes, server version, row counts) and what its last verification found. Files made by the
 * runbook have none until they are verified; an unreadable sidecar counts as none.
 *
 *   const sidecar = await readSidecar('/backups/…/recipe-database-backup-….sql.gz'); // BackupSidecar | undefined
 *   await writeSidecar(file, { ...sidecar, verified: true, verifiedAt: new Date().toISOString() });
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SIDECAR_SUFFIX } from './backup-name.js';

const rowCounts = z.record(z.string(), z.number().nullable());

const verificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  problems: z.array(z.string()),
  restoredCounts: rowCounts,
  durationMs: z.number(),
});

const sidecarSchema = z.object({
  format: z.literal(1),
  name: z.string(),
  /** `external`: a file this bot did not write (the runbook's script), described when first verified. */
  origin: z.enum(['recipedb-ops', 'external']),
  /** Absent only for a runbook file found corrupt at its first verification. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  sizeBytes: z.number(),
  dumpBytes: z.number().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durations: z.object({ dumpMs: z.number(), checkMs: z.number(), totalMs: z.number() }).optional(),
  server: z.object({ version: z.string(), versionNum: z.number() }).optional(),
  pgDumpVersion: z.string().optional(),
  database: z.string().optional(),
  requestedBy: z.string().optional(),
  /** Rows of VERIFY_TABLES when the backup was taken; null for a table that did not exist. */
  rowCounts: rowCounts.optional(),
  /** `same-snapshot`: counted in the very snapshot pg_dump dumped; `separately`: counted alongside it. */
  rowCountsTaken: z.enum(['same-snapshot', 'separately']).optional(),
  verified: z.boolean(),
  verifiedAt: z.string().nullable(),
  verification: verificationSchema.optional(),
});

export type BackupSidecar = z.infer<typeof sidecarSchema>;

export function sidecarPath(backupFile: string): string {
  return `${backupFile}${SIDECAR_SUFFIX}`;
}

export async function readSidecar(backupFile: string): Promise<BackupSidecar | undefined> {
  let text: string;
  try {
    text = await readFile(sidecarPath(backupFile), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = sidecarSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the sidecar atomically: a reader sees the old one or the new one, never half of one. */
export async function writeSidecar(backupFile: string, sidecar: BackupSidecar): Promise<void> {
  const target = sidecarPath(backupFile);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  const handle = await open(temporary, 'wx', 0o640);
  try {
    await handle.writeFile(`${JSON.stringify(sidecar, null, 2)}\n`);
    await handle.sync();
    await handle.close();
    await rename(temporary, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}
