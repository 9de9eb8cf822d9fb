/**
 * The firing alerts the App Home shows (SPEC section 10), as `alerts` reads them: what Alertmanager
 * holds when ALERTMANAGER_URL is set (within part of the Home's budget, else the received ones),
 * otherwise what the bot received and has not seen resolved. With neither ALERTS_TOKEN nor
 * ALERTMANAGER_URL no alert can reach the bot: the Home says so rather than "none".
 *
 *   const alerts = await readFiringAlerts(services, 2000); // { kind: 'no-source' } | { kind: 'firing', source, alerts: [...], … }
 */
import type { Services } from '../context.js';
import { readAlerts, type AlertsResult } from './alerts.js';

/** `alertmanager`: ALERTMANAGER_URL is set (so received alerts mean it did not answer). */
export type FiringAlerts = { kind: 'no-source' } | ({ kind: 'firing'; alertmanager: boolean } & AlertsResult);

/** The share of the Home's budget Alertmanager gets, so the received alerts still fit in it. */
const ALERTMANAGER_SHARE = 0.6;

export async function readFiringAlerts(services: Services, budgetMs: number): Promise<FiringAlerts> {
  const { token, alertmanagerUrl } = services.config.alerts;
  if (token === undefined && alertmanagerUrl === undefined) return { kind: 'no-source' };
  const alerts = await readAlerts(services, { alertmanagerWithinMs: Math.round(budgetMs * ALERTMANAGER_SHARE) });
  return { kind: 'firing', alertmanager: alertmanagerUrl !== undefined, ...alerts };
}
