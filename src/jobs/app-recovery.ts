/** What scaling back an application a dead replica left at 0 came to (jobs/app-scale-recovery.ts), as OPS_CHANNEL is told (views/app-recovery-view.ts). */
import type { ScaleDown } from '../state/app-scale-downs.js';

export interface AppRecovery {
  down: ScaleDown;
  /**
   * `scaled-back`: it was at 0 and is asked for its replicas again; `already-up`: someone scaled it meanwhile;
   * `database-left-down`: the database deployment an interrupted point-in-time restore stopped, NOT started
   * (`heldBack`: the applications that stay at 0 with it); `database-recovering`: it was started again (by
   * the restore, or by someone since) but has not finished recovering (`why`), and holds `heldBack` at 0;
   * `database-up-again`: it runs and has finished recovering, the applications follow.
   */
  outcome: 'scaled-back' | 'already-up' | 'database-left-down' | 'database-recovering' | 'database-up-again';
  /** The replicas it has now (asked for). */
  now: number;
  heldBack?: ScaleDown[];
  /** `database-recovering`: why the restore is not known finished ("it is still in recovery (…)"). */
  why?: string;
  /** `database-up-again`: the timeline the database writes on (0 when unknown). */
  timeline?: number;
  /** `/recipedb scale …` when the deployment is in SCALABLE_DEPLOYMENTS, else the kubectl line. */
  scaleBack?: string;
}
