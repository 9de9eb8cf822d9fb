/** What scaling back an application a dead replica left at 0 came to (jobs/app-scale-recovery.ts), as OPS_CHANNEL is told (views/app-recovery-view.ts). */
import type { ScaleDown } from '../state/app-scale-downs.js';

export interface AppRecovery {
  down: ScaleDown;
  /**
   * `scaled-back`: it was at 0 and is asked for its replicas again; `already-up`: someone scaled it meanwhile;
   * `database-left-down`: the database deployment an interrupted point-in-time restore stopped, NOT started
   * (`heldBack`: the applications that stay at 0 with it); `database-up-again`: someone started it since.
   */
  outcome: 'scaled-back' | 'already-up' | 'database-left-down' | 'database-up-again';
  /** The replicas it has now (asked for). */
  now: number;
  heldBack?: ScaleDown[];
  /** `/recipedb scale …` when the deployment is in SCALABLE_DEPLOYMENTS, else the kubectl line. */
  scaleBack?: string;
}
