/**
 * The firing alerts the App Home shows (SPEC section 10). Until the alerts work is wired in here,
 * there is no source, and the Home tab says so in one line.
 *
 *   const alerts = await readFiringAlerts(services); // { kind: 'no-source' } | { kind: 'firing', alerts: [...] }
 */
import type { Services } from '../context.js';

export interface FiringAlert {
  name: string;
  severity: string | null;
  summary: string | null;
  startsAt: Date;
}

export type FiringAlerts = { kind: 'no-source' } | { kind: 'firing'; alerts: FiringAlert[] };

// MERGE: replace with the alert store's read of the alerts firing now (one query in the state database).
export async function readFiringAlerts(_services: Services): Promise<FiringAlerts> {
  return { kind: 'no-source' };
}
