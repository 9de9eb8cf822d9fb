/**
 * The sections registry: `npm run bench -- <name> …` runs the named ones, in this order; no name
 * runs them all. A section is one function in a file of its own (see section.ts).
 */
import { ackSection } from './ack.js';
import { backupSection } from './backup.js';
import { chartSection } from './chart.js';
import { pitrSection } from './pitr.js';
import type { Section } from './section.js';
import { statusSection } from './status.js';
import { saturatedSection } from './saturated.js';

export const SECTIONS: Readonly<Record<string, Section>> = {
  ack: ackSection,
  status: statusSection,
  backup: backupSection,
  chart: chartSection,
  saturated: saturatedSection,
  pitr: pitrSection,
};
