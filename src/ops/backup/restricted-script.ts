/**
 * What psql reads during a restore: the bot's own first lines, then the dump, then the bot's own
 * COMMIT — and never a psql meta-command from the file.
 *
 *   SELECT pg_backend_pid();   ← psql prints its session's pid: the bot follows that session, by pid
 *   BEGIN;                     ← one transaction, written by the bot (not psql --single-transaction,
 *                                which commits whatever it got when its input merely ends)
 *   SELECT set_config(…);      ← a transaction-local mark, to notice a dump that ends the transaction
 *   \restrict <fresh key>      ← from here psql refuses every meta-command (\!, \connect, \copy,
 *                                \o |cmd…) unless `\unrestrict <key>`, and the key is not in the file
 *   …the dump, its own \restrict / \unrestrict lines left out (a second \restrict is an error)…
 *   DO … the mark is still set  ← else the dump itself committed or rolled back: an error, no COMMIT
 *   COMMIT;                    ← only once the file was read whole and every byte proven approved
 *   SELECT 'committed <nonce>'; ← printed only after COMMIT succeeded: proof that it did
 *
 *   const script = restrictedScript();
 *   pipeline(file, verify, gunzip, leaveOutRestrictLines(), script.framing(), psql.stdin)
 *   script.committed(psqlStdout)
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const RESTRICT_LINE = /^\\restrict\s+\S+\s*$/;
const UNRESTRICT_LINE = /^\\unrestrict\s+\S+\s*$/;
/** Lines longer than this are passed on at once: none of them can be a \restrict line. */
const MAX_HELD_LINE = 4_096;
const NEWLINE = 0x0a;

export interface RestrictedScript {
  /** The bot's first lines; psql's line numbers count them. */
  headerLines: number;
  /** Writes the header before the dump, and the end (check, COMMIT, proof) after it when it ended cleanly. */
  framing(): Transform;
  /** True once the COMMIT was handed to psql. */
  commitSent(): boolean;
  /** Whether psql's output holds the proof printed after the COMMIT. */
  committed(output: string): boolean;
}

const MARK_SETTING = 'recipedb_ops.restore_transaction';

export function restrictedScript(): RestrictedScript {
  const random = (): string => randomBytes(24).toString('hex');
  const [key, mark, nonce] = [random(), random(), random()];
  const header = ['SELECT pg_backend_pid();', 'BEGIN;', `SELECT set_config('${MARK_SETTING}', '${mark}', true);`, `\\restrict ${key}`];
  const end = [
    '',
    `DO $$ BEGIN IF current_setting('${MARK_SETTING}', true) IS DISTINCT FROM '${mark}' THEN RAISE EXCEPTION 'the dump ended the restore''s transaction itself (a COMMIT or ROLLBACK in the file)'; END IF; END $$;`,
    'COMMIT;',
    `SELECT 'committed ${nonce}';`,
    '',
  ];
  let sent = false;
  return {
    headerLines: header.length,
    commitSent: () => sent,
    committed: (output) => output.split('\n').includes(`committed ${nonce}`),
    framing() {
      let started = false;
      const start = (stream: Transform): void => {
        if (started) return;
        started = true;
        stream.push(`${header.join('\n')}\n`);
      };
      return new Transform({
        transform(chunk: Buffer, _encoding, done: TransformCallback) {
          start(this);
          done(null, chunk);
        },
        // Reached only when every stream before it ended without an error.
        flush(done: TransformCallback) {
          start(this);
          sent = true;
          done(null, end.join('\n'));
        },
      });
    },
  };
}

/**
 * Leaves out pg_dump's own `\restrict <key>` (among the header comments, before any SQL) and its
 * last `\unrestrict <key>` line, each replaced by an empty line so that psql's line numbers are
 * still the file's. Any other line passes unchanged: a COPY data row may read `\restrict x`.
 */
export function leaveOutRestrictLines(): Transform {
  let inHeader = true;
  /** The current line so far, while it is short enough to be a \restrict line. */
  let partial: Buffer[] = [];
  let partialBytes = 0;
  /** True while passing on a long line whose start was already pushed. */
  let inLongLine = false;
  /** The last short non-blank line and the blank lines after it: it may be the final \unrestrict. */
  let held: Buffer[] = [];

  const text = (line: Buffer): string => line.toString('utf8').replace(/\r?\n$/, '');
  const isBlank = (line: Buffer): boolean => text(line).trim() === '';
  const releaseHeld = (out: Transform): void => {
    for (const line of held) out.push(line);
    held = [];
  };
  const blankFor = (line: Buffer): Buffer => Buffer.from(line[line.length - 1] === NEWLINE ? '\n' : '');

  const completeLine = (out: Transform, line: Buffer): void => {
    if (inHeader) {
      const t = text(line);
      if (RESTRICT_LINE.test(t)) {
        out.push(blankFor(line));
        return;
      }
      if (t.trim() === '' || t.startsWith('--')) {
        out.push(line);
        return;
      }
      inHeader = false;
    }
    if (isBlank(line)) {
      if (held.length > 0) held.push(line);
      else out.push(line);
      return;
    }
    releaseHeld(out);
    held = [line];
  };

  const startLongLine = (out: Transform): void => {
    // A long line is SQL or data: the header is over, and what was held is not the last line.
    inHeader = false;
    releaseHeld(out);
    for (const piece of partial) out.push(piece);
    partial = [];
    partialBytes = 0;
    inLongLine = true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      let offset = 0;
      while (offset < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, offset);
        const end = newline === -1 ? chunk.length : newline + 1;
        const piece = chunk.subarray(offset, end);
        offset = end;
        if (inLongLine) {
          this.push(piece);
          if (newline !== -1) inLongLine = false;
          continue;
        }
        partial.push(piece);
        partialBytes += piece.length;
        if (newline !== -1) {
          const line = Buffer.concat(partial, partialBytes);
          partial = [];
          partialBytes = 0;
          if (line.length > MAX_HELD_LINE) {
            inHeader = false;
            releaseHeld(this);
            this.push(line);
          } else {
            completeLine(this, line);
          }
        } else if (partialBytes > MAX_HELD_LINE) {
          startLongLine(this);
        }
      }
      done();
    },
    flush(done: TransformCallback) {
      if (partialBytes > 0) completeLine(this, Buffer.concat(partial, partialBytes));
      const [last, ...after] = held;
      if (last !== undefined && UNRESTRICT_LINE.test(text(last))) held = [blankFor(last), ...after];
      releaseHeld(this);
      done();
    },
  });
}
