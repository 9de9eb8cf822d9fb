/**
 * The sections registry: `npm run bench -- <name> …` runs the named ones, in this order; no name
 * runs them all. A section is one function in a file of its own (see section.ts).
 */
import { ackSection } from './ack.js';
import type { Section } from './section.js';
import { statusSection } from './status.js';

export const SECTIONS: Readonly<Record<string, Section>> = {
  ack: ackSection,
  status: statusSection,
  // ── backup ────────────────────────────────────────────────────────────────────────────────
  // Reserved for the backup engineer (SPEC section 8: a generated database of at least 500 MB,
  // the bot's backup against `pg_dump --clean --if-exists | gzip` to a file, with the bot's peak
  // memory). Add `backup: backupSection,` here, imported from './backup.js'. The harness already
  // gives it harness.pg, harness.clientBinDir (pg_dump) and BACKUP_DIR under harness.root.
};
