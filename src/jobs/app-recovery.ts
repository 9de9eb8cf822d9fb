/** What scaling back an application a dead replica left at 0 came to (jobs/app-scale-recovery.ts), as OPS_CHANNEL is told (views/app-recovery-view.ts). */
import type { ScaleDown } from '../state/app-scale-downs.js';

export interface AppRecovery {
  down: ScaleDown;
  /** `scaled-back`: it was at 0 and is asked for its replicas again; `already-up`: someone scaled it meanwhile. */
  outcome: 'scaled-back' | 'already-up';
  /** The replicas it has now (asked for). */
  now: number;
}
