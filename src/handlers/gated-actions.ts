/** The executors of gated actions, by name: the approval engine runs a stored plan through these. */
import type { GatedAction } from './gated.js';
import type { ActionRegistry } from './approval-engine.js';
import { killAction } from './kill.js';
import { scaleAction } from './scale.js';
import { restoreAction } from './restore.js';
import { resizeAction } from './resize.js';
import { imageAction } from './image.js';
import { storageExpandAction } from './storage.js';
import { userCreateAction, userRotatePasswordAction } from './user.js';
import { backupImportAction } from './backup-import.js';
import { vacuumFullAction } from './vacuum.js';
import { reindexAction } from './reindex.js';
import { indexCreateAction, indexDropAction } from './index-change.js';
import { settingsAction } from './settings-change.js';
import { pitrRestoreAction } from './pitr-restore.js';

/** Erases the plan type: safe, because the engine feeds `execute` only what `plan` parsed. */
function entry<Plan>(action: GatedAction<Plan>): [string, GatedAction<unknown>] {
  return [action.action, { action: action.action, plan: action.plan, execute: (plan, ctx) => action.execute(plan as Plan, ctx) }];
}

export const GATED_ACTIONS: ActionRegistry = new Map([
  entry(killAction),
  entry(scaleAction),
  entry(restoreAction),
  entry(backupImportAction),
  entry(userCreateAction),
  entry(userRotatePasswordAction),
  entry(vacuumFullAction),
  entry(reindexAction),
  entry(indexCreateAction),
  entry(indexDropAction),
  entry(settingsAction),
  entry(resizeAction),
  entry(storageExpandAction),
  entry(imageAction),
  entry(pitrRestoreAction),
]);
