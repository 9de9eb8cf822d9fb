/**
 * Where this machine keeps PostgreSQL's programs: `pg_config --bindir` (Debian keeps the real
 * binaries outside the PATH), else the PATH itself. The backups' client tools and the local
 * console's embedded server both look here.
 *
 *   const dir = clientBinDir(); // '/usr/lib/postgresql/15/bin'
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';

/** `pg_config --bindir` if present, else the folder of `psql` on the PATH. */
export function clientBinDir(): string | undefined {
  const fromConfig = pgConfigBinDir();
  if (fromConfig !== undefined) return fromConfig;
  // Not resolved through symlinks: Debian's /usr/bin/psql is a link to a version-picking wrapper.
  const psql = findOnPath('psql');
  return psql === undefined ? undefined : path.dirname(psql);
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir !== '' && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function pgConfigBinDir(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return dir.trim() === '' ? undefined : dir.trim();
  } catch {
    return undefined;
  }
}
