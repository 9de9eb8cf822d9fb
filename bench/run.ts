/**
 * `npm run bench [-- section …]` (SPEC section 8): starts its own PostgreSQL, fake Slack and bot,
 * runs the sections, prints a table, writes bench/results.json, and removes everything it started.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startHarness, Undo, type Harness } from './harness.js';
import { formatTable, resultsDocument, type SectionOutcome } from './report.js';
import { SECTIONS } from './sections.js';

const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));
/** A hung benchmark must still end (and clean up): far above a normal run's few minutes. */
const WATCHDOG_MS = 30 * 60_000;

const say = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function selectedSections(args: readonly string[]): string[] {
  const names = args.filter((a) => a !== '--');
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown benchmark section(s): ${unknown.join(', ')}. Available: ${Object.keys(SECTIONS).join(', ')}.\n`);
    process.exit(2);
  }
  return names.length > 0 ? Object.keys(SECTIONS).filter((n) => names.includes(n)) : Object.keys(SECTIONS);
}

async function main(): Promise<number> {
  const names = selectedSections(process.argv.slice(2));
  const startedAt = new Date();
  let harness: Harness | undefined;
  // Shared with the harness from its first step, so an interrupted start-up is undone too.
  const undo = new Undo();
  const cleanUp = (): Promise<void> => undo.run().catch((error: unknown) => say(`cleanup: ${error instanceof Error ? error.message : String(error)}`));

  let aborting = false;
  let abortCode = 1;
  const abort = (why: string, code: number): void => {
    if (aborting) return;
    aborting = true;
    abortCode = code;
    say(`${why}: cleaning up…`);
    void cleanUp().finally(() => process.exit(code));
  };
  // `on`, not `once`: stopOnExit (src/dev/local-postgres.ts) stops the server and exits at once
  // when it finds itself the only SIGINT listener, which would skip removing the temporary folder.
  process.on('SIGINT', () => abort('interrupted', 130));
  process.on('SIGTERM', () => abort('terminated', 143));
  const watchdog = setTimeout(() => abort(`still running after ${WATCHDOG_MS / 60_000} minutes`, 1), WATCHDOG_MS);
  watchdog.unref();

  const outcomes: SectionOutcome[] = [];
  try {
    harness = await startHarness(say, undo);
    for (const name of names) {
      const section = SECTIONS[name];
      if (section === undefined || aborting) continue;
      const started = performance.now();
      try {
        const result = await section({ harness, say });
        outcomes.push({ name, ms: performance.now() - started, result });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        outcomes.push({ name, ms: performance.now() - started, error: message });
        if (!aborting) say(`${name} failed: ${message}\nLast lines of the bot's log:\n${await harness.botLogTail()}`);
      }
    }
  } finally {
    say('Cleaning up…');
    await cleanUp();
    clearTimeout(watchdog);
  }
  // An interrupted run's figures are partial: keep the previous results.json.
  if (aborting) return abortCode;

  process.stdout.write(`\n${formatTable(outcomes)}\n`);
  await writeFile(RESULTS_FILE, `${JSON.stringify(resultsDocument(outcomes, startedAt), null, 2)}\n`);
  say(`Wrote ${RESULTS_FILE}`);
  return outcomes.every((o) => o.result !== undefined) ? 0 : 1;
}

main().then(
  // Explicit exit: a keep-alive socket left by a library must not keep a finished benchmark waiting.
  (code) => process.exit(code),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
