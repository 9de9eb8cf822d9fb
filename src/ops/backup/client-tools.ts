/**
 * Finds pg_dump and psql (next to `pg_config --bindir`, else on the PATH) and refuses a client
 * older than the server: an older pg_dump cannot read a newer server's catalogs, and an older
 * psql may not understand what a newer pg_dump writes.
 *
 *   const pgDump = await requireClientTool('pg_dump', 160002);
 *   // throws 'pg_dump 15 cannot back up a PostgreSQL 16 server: install the PostgreSQL 16 client tools'
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { clientBinDir } from '../pg-bin-dir.js';

export type ClientToolName = 'pg_dump' | 'psql';

export interface ClientTool {
  name: ClientToolName;
  path: string;
  /** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` */
  version: string;
  major: string;
}

const VERB: Record<ClientToolName, string> = { pg_dump: 'back up', psql: 'restore into' };

const versions = new Map<string, Promise<string>>();

export async function requireClientTool(name: ClientToolName, serverVersionNum: number): Promise<ClientTool> {
  const toolPath = findClientTool(name);
  const version = await toolVersion(toolPath);
  const problem = versionProblem(name, version, serverVersionNum) ?? (name === 'psql' ? restrictedModeProblem(version) : undefined);
  if (problem !== undefined) throw new Error(problem);
  return { name, path: toolPath, version, major: majorLabel(parseToolVersionNum(version) ?? 0) };
}

/** The sentence explaining why this client cannot serve this server, or undefined when it can. */
export function versionProblem(name: ClientToolName, versionText: string, serverVersionNum: number): string | undefined {
  const client = parseToolVersionNum(versionText);
  if (client === undefined) return `Could not read the version of ${name} from "${versionText.trim().slice(0, 80)}".`;
  if (majorOf(client) >= majorOf(serverVersionNum)) return undefined;
  const server = majorLabel(serverVersionNum);
  return `${name} ${majorLabel(client)} cannot ${VERB[name]} a PostgreSQL ${server} server: install the PostgreSQL ${server} client tools`;
}

/**
 * The first release of each major version whose psql has `\restrict` (CVE-2025-8714): without it,
 * psql would run the meta-commands (\!, \connect…) a backup file holds.
 */
const RESTRICT_SINCE: Record<number, number> = { 13: 130_022, 14: 140_019, 15: 150_014, 16: 160_010, 17: 170_006 };

/** The sentence saying which psql is needed, or undefined when this one can restore safely. */
export function restrictedModeProblem(versionText: string): string | undefined {
  const client = parseToolVersionNum(versionText);
  if (client === undefined) return `Could not read the version of psql from "${versionText.trim().slice(0, 80)}".`;
  const major = client >= 100_000 ? Math.floor(client / 10_000) : 0;
  if (major >= 18) return undefined;
  const since = RESTRICT_SINCE[major];
  if (since !== undefined && client >= since) return undefined;
  const needed = since === undefined ? '13.22' : `${major}.${since % 10_000}`;
  return `psql ${versionLabel(client)} cannot refuse the psql meta-commands (\\!, \\connect…) a backup file may hold, so the bot will not restore with it: install psql ${needed} or newer (the release with \\restrict)`;
}

function versionLabel(versionNum: number): string {
  return versionNum >= 100_000 ? `${Math.floor(versionNum / 10_000)}.${versionNum % 10_000}` : `${Math.floor(versionNum / 10_000)}.${Math.floor(versionNum / 100) % 100}.${versionNum % 100}`;
}

/** `pg_dump (PostgreSQL) 15.18 (Debian …)` → 150018; `psql (PostgreSQL) 9.6.24` → 90624. */
export function parseToolVersionNum(versionText: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(versionText);
  if (!match) return undefined;
  const [first, second, third] = [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
  return first >= 10 ? first * 10_000 + second : first * 10_000 + second * 100 + third;
}

/** Before PostgreSQL 10 the major version had two parts (9.6). */
function majorOf(versionNum: number): number {
  return versionNum >= 100_000 ? Math.floor(versionNum / 10_000) * 10_000 : Math.floor(versionNum / 100) * 100;
}

function majorLabel(versionNum: number): string {
  return versionNum >= 100_000 ? String(Math.floor(versionNum / 10_000)) : `${Math.floor(versionNum / 10_000)}.${Math.floor(versionNum / 100) % 100}`;
}

export function findClientTool(name: ClientToolName): string {
  const binDir = clientBinDir();
  const candidates = [
    ...(binDir === undefined ? [] : [path.join(binDir, name)]),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name)),
  ];
  const found = candidates.find(isExecutableFile);
  if (found === undefined) {
    throw new Error(`${name} was not found (neither in \`pg_config --bindir\` nor on the PATH): install the PostgreSQL client tools`);
  }
  return found;
}

function toolVersion(toolPath: string): Promise<string> {
  let pending = versions.get(toolPath);
  if (pending === undefined) {
    pending = new Promise<string>((resolve, reject) => {
      execFile(toolPath, ['--version'], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
        if (error) reject(new Error(`${path.basename(toolPath)} --version failed: ${error.message.split('\n')[0] ?? ''}`));
        else resolve(stdout.trim());
      });
    });
    // A failure (tool being upgraded, say) must not stick for the life of the process.
    pending.catch(() => versions.delete(toolPath));
    versions.set(toolPath, pending);
  }
  return pending;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
