/**
 * The Dockerfile and .dockerignore, read as text (there is no Docker engine here to build them):
 * the image must hold what the code expects — the compiled entry point, client tools of the tested
 * server's major version, the port the config defaults to — and run unprivileged.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { withConnection } from '../src/ops/postgres/databases.js';
import { sharedTestPostgres } from './support/postgres.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile, continuation lines joined and comments dropped. */
function instructions(dockerfile: string): Instruction[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  return lines
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The stages, each from its FROM to the next. */
function stages(all: Instruction[]): Instruction[][] {
  return all.reduce<Instruction[][]>((found, instruction) => {
    if (instruction.keyword === 'FROM') found.push([]);
    found.at(-1)?.push(instruction);
    return found;
  }, []);
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** `.dockerignore` patterns as Docker reads them: paths from the context root, `*` within one segment. */
function ignores(dockerignore: string): (file: string) => boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const toRegex = (pattern: string) =>
    new RegExp(`^${pattern.replace(/^\/+/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
  return (file) =>
    patterns.reduce((ignored, pattern) => (pattern.startsWith('!') ? (toRegex(pattern.slice(1)).test(file) ? false : ignored) : toRegex(pattern).test(file) || ignored), false);
}

const all = instructions(read('Dockerfile'));
const [build, final] = [stages(all).at(0) ?? [], stages(all).at(-1) ?? []];
const argsOf = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);
const lastOf = (stage: Instruction[], keyword: string) => argsOf(stage, keyword).at(-1);
const finalRuns = argsOf(final, 'RUN').join('\n');

describe('Dockerfile', () => {
  it('builds in one stage and ships from another, both on an even-numbered (LTS) Node slim image pinned by tag', () => {
    expect(stages(all).length).toBeGreaterThanOrEqual(2);
    for (const stage of [build, final]) {
      const image = /^(\S+)/.exec(stage[0]?.args ?? '')?.[1] ?? '';
      const match = /^node:(\d+)-[a-z]+-slim$/.exec(image);
      expect(match, `${image} is not node:<major>-<debian>-slim`).not.toBeNull();
      const major = Number(match?.[1]);
      expect(major % 2, `Node ${major} is not an LTS line`).toBe(0);
      expect(major).toBeGreaterThanOrEqual(20);
    }
  });

  it('installs the client tools of the PostgreSQL major the tests run against', async () => {
    const versionNum = await withConnection(sharedTestPostgres().adminUrl, async (client) => {
      const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      return Number(rows[0]?.server_version_num);
    });
    const major = Math.floor(versionNum / 10_000);
    expect(finalRuns).toMatch(new RegExp(`apt-get install[^\\n]*\\bpostgresql-client-${major}\\b`));
    expect(finalRuns).toMatch(/\bca-certificates\b/);
    expect(argsOf(final, 'ENV').join(' ')).toContain(`/usr/lib/postgresql/${major}/bin`);
  });

  it('ships production dependencies only, and the compiled code from the build stage', () => {
    expect(finalRuns).toMatch(/\bnpm ci\b[^\n]*--omit=dev/);
    // The charts' native renderer is an optional dependency: leaving optional ones out would break `chart`.
    expect(finalRuns).not.toMatch(/--omit=optional|--no-optional/);
    expect(finalRuns).not.toMatch(/\bnpm (run build|install)\b/);
    expect(argsOf(final, 'COPY')).toContainEqual(expect.stringMatching(/^--from=\S+ \/app\/dist \.\/dist$/));
    expect(argsOf(build, 'RUN')).toContain('npm run build');
  });

  it('runs as an unprivileged user that owns /backups', () => {
    const user = lastOf(final, 'USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(finalRuns).toMatch(new RegExp(`mkdir -p /backups\\b[^\\n]*chown ${user}(:\\S+)? /backups`));
  });

  it('starts dist/main.js, what `npm run build` writes from src/main.ts, in exec form so the bot gets SIGTERM', () => {
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(existsSync(path.join(root, tsconfig.compilerOptions.rootDir, 'main.ts'))).toBe(true);
    expect(execForm(lastOf(final, 'CMD') ?? '')).toEqual(['node', `${tsconfig.compilerOptions.outDir}/main.js`]);
    const entrypoint = lastOf(final, 'ENTRYPOINT');
    if (entrypoint !== undefined) expect(execForm(entrypoint), 'ENTRYPOINT must be exec form').toBeDefined();
    expect(lastOf(final, 'STOPSIGNAL')).toBe('SIGTERM');
  });

  it('listens, exposes and checks health on the port the config defaults to', () => {
    const port = loadConfig({}).port;
    expect(argsOf(final, 'ENV').join(' ')).toMatch(new RegExp(`\\bPORT=${port}\\b`));
    expect(argsOf(final, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(lastOf(final, 'EXPOSE')).toBe(String(port));
    const healthcheck = lastOf(final, 'HEALTHCHECK') ?? '';
    const command = execForm(healthcheck.replace(/^.*?\bCMD\s+/, ''));
    expect(command?.[0], 'the slim image has no curl or wget').toBe('node');
    expect(command?.join(' ')).toContain('/healthz');
    expect(command?.join(' ')).toContain(`process.env.PORT||${port}`);
  });
});

describe('.dockerignore', () => {
  const ignored = ignores(read('.dockerignore'));

  it('keeps dependencies, history, secrets and local data out of the build context', () => {
    for (const file of ['node_modules', 'node_modules/pg/package.json', 'dist/main.js', '.git', '.env', '.env.production', '.local', 'test', 'bench', 'coverage', 'backups', 'npm-debug.log']) {
      expect(ignored(file), file).toBe(true);
    }
  });

  it('keeps everything the Dockerfile copies', () => {
    const copied = [...argsOf(build, 'COPY'), ...argsOf(final, 'COPY')]
      .filter((args) => !args.startsWith('--from='))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(copied).toContain('src');
    for (const file of [...copied, 'src/main.ts']) expect(ignored(file), file).toBe(false);
  });
});
