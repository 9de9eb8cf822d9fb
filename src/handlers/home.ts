/**
 * What the Slack App Home tab shows when someone opens it (SPEC section 13): the status verdict,
 * the approval requests waiting (with their buttons), what is running on the database, the open
 * incidents, the firing alerts, the last backup (and, with pgBackRest configured, the newest base
 * backup and the recoverable window) and the last 24 hours of the key figures. Every
 * part is read in parallel with its own deadline: a part that does not answer is one line.
 *
 *   const home = await readHome(services, 'U_BOB');
 */
import type { Services } from '../context.js';
import { newestBotBackup, type StoredBackup } from '../ops/backup/list-backups.js';
import { runningBackup, type BackupLockHolder } from '../ops/backup/backup-lock.js';
import { runningOperation, type RunningOperation } from '../ops/operation-lock.js';
import type { BaseBackup } from '../ops/pitr/pgbackrest-info.js';
import { readPitrState } from '../ops/pitr/pitr-state.js';
import type { RecoverableWindow } from '../ops/pitr/recovery-window.js';
import { listPendingApprovals, type ApprovalRequest } from '../state/approvals.js';
import { DAY_MS } from '../state/history-downsample.js';
import { readHistory } from '../state/history-samples.js';
import { listOpenIncidents, type Incident } from '../state/incidents.js';
import { latestUnfinishedMaintenanceRun, type MaintenanceRun } from '../state/maintenance-runs.js';
import { figureChart, type FigureChart } from './history-figures.js';
import { readHomeChartShown, type HomeChartShown } from './home-chart.js';
import { homeContext } from './home-context.js';
import { readFiringAlerts, type FiringAlerts } from './home-alerts.js';
import { readSource, statusHandler, type SourceResult, type StatusResult } from './status.js';
import { storedBackups } from './stored-backups.js';

export interface HomeResult {
  measuredAt: Date;
  userId: string;
  status: StatusResult;
  pending: SourceResult<ApprovalRequest[]>;
  running: SourceResult<{ operation: RunningOperation | null; maintenance: MaintenanceRun | null; backup: BackupLockHolder | null }>;
  incidents: SourceResult<Incident[]>;
  alerts: SourceResult<FiringAlerts>;
  lastBackup: SourceResult<StoredBackup | null>;
  /** Point-in-time recovery; null when PGBACKREST_STANZA is not set. */
  pitr: SourceResult<PitrHome> | null;
  /** The last 24 h of connections and transactions per second. */
  day: SourceResult<{ connections: FigureChart; tps: FigureChart }>;
  /** The picture of the last 24 h shared in HOME_CHART_CHANNEL, if there is one to show. */
  chart: SourceResult<HomeChartShown>;
}

export interface PitrHome {
  /** The newest base backup in the repository, whatever its timeline. */
  newest: Pick<BaseBackup, 'label' | 'type' | 'stoppedAt'> | null;
  window: Pick<RecoverableWindow, 'timeline' | 'oldest' | 'newest' | 'newestIsNow' | 'newestLimit'> | null;
  /** Why there is no window (no WAL archived yet, the timeline history could not be read…). */
  problem?: string;
}

export async function readHome(services: Services, userId: string): Promise<HomeResult> {
  const ms = services.config.timeouts.sourceMs;
  const now = services.now();
  const context = homeContext(services, userId);
  const pitr = services.pitr;
  const [status, pending, running, incidents, alerts, lastBackup, pitrHome, day, chart] = await Promise.all([
    statusHandler.run({}, context),
    readSource('the state database', ms, () => listPendingApprovals(services.state)),
    readSource('the state database', ms, async () => {
      const operation = await runningOperation(services.state);
      // The lock names the kind; maintenance_runs says which tables and who asked.
      const maintenance = operation?.kind === 'maintenance' ? await latestUnfinishedMaintenanceRun(services.state) : null;
      return { operation, maintenance, backup: await runningBackup(services.state) };
    }),
    readSource('the state database', ms, () => listOpenIncidents(services.state)),
    readSource('the alerts', ms, () => readFiringAlerts(services, ms)),
    // The newest file the bot wrote, as `backup verify latest` and the freshness metric see it: never a file it did not write.
    readSource('BACKUP_DIR', ms, async () => newestBotBackup(await storedBackups(services)) ?? null),
    pitr
      ? readSource('pgBackRest', ms, async (): Promise<PitrHome> => {
          // The signal ends pgBackRest's processes once readSource has given up on them.
          const state = await readPitrState({ pitr, db: services.db, now, signal: AbortSignal.timeout(ms + 500) });
          const newest = state.stanza.backups[state.stanza.backups.length - 1];
          const w = state.window;
          return {
            newest: newest ? { label: newest.label, type: newest.type, stoppedAt: newest.stoppedAt } : null,
            window: w && { timeline: w.timeline, oldest: w.oldest, newest: w.newest, newestIsNow: w.newestIsNow, newestLimit: w.newestLimit },
            problem: state.lineageProblem,
          };
        })
      : null,
    readSource('the history', ms, async () => {
      const rows = await readHistory(services.state, { from: new Date(now.getTime() - DAY_MS), to: now });
      return { connections: figureChart('connections', rows, services.config.thresholds), tps: figureChart('tps', rows, services.config.thresholds) };
    }),
    readSource('the state database', ms, () => readHomeChartShown(services)),
  ]);
  return { measuredAt: now, userId, status, pending, running, incidents, alerts, lastBackup, pitr: pitrHome, day, chart };
}
