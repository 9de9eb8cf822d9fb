/**
 * The App Home tab: what an on-call engineer wants at a glance, rebuilt each time the tab is opened.
 * Pending approvals carry the same Approve / Reject buttons as their channel message, so they can
 * be decided from here. The 24 h chart is a picture shared in HOME_CHART_CHANNEL (an image block
 * may only name a file its viewers can see); without that channel, or until the picture is there,
 * the last 24 h are sparklines.
 */
import type { types as slack } from '@slack/bolt';
import type { HomeResult } from '../../handlers/home.js';
import type { FigureChart } from '../../handlers/history-figures.js';
import type { SourceResult } from '../../handlers/status.js';
import { sparkline } from '../../charts/sparkline.js';
import { formatDuration } from '../../duration.js';
import { formatBytes, formatTime } from '../../format.js';
import { describeOperation } from '../../ops/operation-lock.js';
import { actorMention, codeBlock, context, divider, escapeMrkdwn, header, mrkdwnText, section, slackFileImage, type Block } from '../blocks.js';
import { HOME_CHART_TIMING, type HomeChartShown } from '../../handlers/home-chart.js';
import { alertName, alertSeverity, alertTitle } from '../../handlers/alert-facts.js';
import { approvalButtons } from './approval-view.js';
import { statusVerdictLine } from './status-view.js';

/** Slack's limit for a Home view. */
const MAX_HOME_BLOCKS = 100;
const MAX_PENDING = 10;
const MAX_INCIDENTS = 10;
const MAX_ALERTS = 10;
const SPARKLINE_WIDTH = 48;
const SEVERITY_ICON: Record<string, string> = { critical: ':red_circle:', warning: ':warning:', info: ':information_source:' };

export interface HomeViewOptions {
  /** A line for the viewer alone, at the top: what became of their click. */
  notice?: string;
}

export function homeView(home: HomeResult, options: HomeViewOptions = {}): slack.HomeView {
  const blocks: Block[] = [header('Recipe Database'), section(statusVerdictLine(home.status))];
  blocks.push(context([`Refreshed ${formatTime(home.measuredAt)} — each time you open this tab. \`/recipedb status\` has the details.`]));
  if (options.notice) blocks.push(section(`:information_source: ${mrkdwnText(options.notice)}`));

  blocks.push(divider(), ...pendingBlocks(home));
  blocks.push(divider(), section(`*Running now*\n${runningLine(home)}`));
  blocks.push(divider(), section(`*Open incidents*\n${incidentLines(home)}`));
  blocks.push(divider(), section(`*Alerts firing*\n${alertLines(home)}`));
  blocks.push(divider(), section(`*Last backup*\n${backupLine(home)}`));
  if (home.pitr) blocks.push(section(`*Point-in-time recovery*\n${pitrLines(home.pitr, home.measuredAt)}`));
  blocks.push(divider(), ...dayBlocks(home.day, home.chart));
  return { type: 'home', blocks: blocks.slice(0, MAX_HOME_BLOCKS) };
}

function unavailable(source: Extract<SourceResult<unknown>, { ok: false }>): string {
  return `n/a — ${escapeMrkdwn(source.reason)}`;
}

function pendingBlocks(home: HomeResult): Block[] {
  const { pending } = home;
  if (!pending.ok) return [section(`*Waiting for approval*\n${unavailable(pending)}`)];
  if (pending.data.length === 0) return [section('*Waiting for approval*\nnothing')];
  const blocks: Block[] = [section(`*Waiting for approval* (${pending.data.length})`)];
  for (const request of pending.data.slice(0, MAX_PENDING)) {
    blocks.push(
      section(
        `*${mrkdwnText(request.action)}*: ${mrkdwnText(request.summary)}\nrequested by <@${request.requester}> in <#${request.channel}> · expires ${formatTime(request.expiresAt)} · \`${request.id}\``,
      ),
      approvalButtons(request),
    );
  }
  if (pending.data.length > MAX_PENDING) blocks.push(context([`… and ${pending.data.length - MAX_PENDING} more: see the channels`]));
  return blocks;
}

function runningLine(home: HomeResult): string {
  const { running } = home;
  if (!running.ok) return unavailable(running);
  const lines: string[] = [];
  const { operation, maintenance, backup } = running.data;
  if (maintenance) {
    const since = formatDuration(Math.max(0, home.measuredAt.getTime() - maintenance.startedAt.getTime()));
    const approved = maintenance.requestId && operation?.by && operation.by !== maintenance.requester ? `, approved by <@${operation.by}>` : '';
    const cancelling = maintenance.cancelRequestedBy ? ` · cancelled by <@${maintenance.cancelRequestedBy}>, stopping` : ` · its message in <#${maintenance.channel}> has the progress and Cancel`;
    lines.push(`:hourglass_flowing_sand: *${mrkdwnText(maintenance.operation)}*: ${mrkdwnText(maintenance.summary)} — started by <@${maintenance.requester}>${approved} ${since} ago${cancelling}`);
  } else if (operation) lines.push(`:hourglass_flowing_sand: ${describeOperation(operation)}${operation.by ? ` (approved by ${actorMention(operation.by)})` : ''}`);
  if (backup) {
    const who = backup.requestedBy ? ` started by ${backup.requestedBy === 'schedule' ? 'the schedule' : actorMention(backup.requestedBy)}` : '';
    const since = backup.since ? ` ${formatDuration(home.measuredAt.getTime() - backup.since.getTime())} ago` : '';
    lines.push(`:floppy_disk: a backup${who}${since}`);
  }
  return lines.join('\n') || 'nothing';
}

function incidentLines(home: HomeResult): string {
  const { incidents } = home;
  if (!incidents.ok) return unavailable(incidents);
  if (incidents.data.length === 0) return 'none';
  const lines = incidents.data
    .slice(0, MAX_INCIDENTS)
    .map((i) => `:rotating_light: *${i.severity.toUpperCase()}* ${mrkdwnText(i.title)} — <#${i.channel}>, commander <@${i.commander}>, open for ${formatDuration(home.measuredAt.getTime() - i.startedAt.getTime())}`);
  if (incidents.data.length > MAX_INCIDENTS) lines.push(`… and ${incidents.data.length - MAX_INCIDENTS} more`);
  return lines.join('\n');
}

function alertLines(home: HomeResult): string {
  const { alerts } = home;
  if (!alerts.ok) return unavailable(alerts);
  const a = alerts.data;
  if (a.kind === 'no-source') return 'no alert source (ALERTS_TOKEN, ALERTMANAGER_URL)';
  // Said only when Alertmanager was meant to answer: without ALERTMANAGER_URL the received alerts are the source.
  const fallback = a.source === 'received' && a.alertmanager && a.alertmanagerProblem ? [`_received by the bot (Alertmanager: ${escapeMrkdwn(a.alertmanagerProblem)})_`] : [];
  if (a.alerts.length === 0) return [':large_green_circle: none', ...fallback].join('\n');
  const lines = a.alerts.slice(0, MAX_ALERTS).map((alert) => {
    const since = `firing ${formatDuration(home.measuredAt.getTime() - alert.startsAt.getTime())}`;
    const silenced = alert.suppressed ? ' · :no_bell: silenced or inhibited' : '';
    return `${SEVERITY_ICON[alertSeverity(alert)] ?? ':red_circle:'} *${escapeMrkdwn(alertName(alert.labels))}* (${escapeMrkdwn(alertSeverity(alert))}) — ${escapeMrkdwn(alertTitle(alert))} · ${since}${silenced}`;
  });
  const more = Math.max(0, a.alerts.length - MAX_ALERTS) + a.truncated;
  if (more > 0) lines.push(`… and ${more} more: \`/recipedb alerts\``);
  return [...lines, ...fallback].join('\n');
}

function backupLine(home: HomeResult): string {
  const { lastBackup } = home;
  if (!lastBackup.ok) return unavailable(lastBackup);
  const b = lastBackup.data;
  if (b === null) return ':warning: none written by the bot in BACKUP_DIR';
  const ageMs = home.measuredAt.getTime() - b.takenAt.getTime();
  // The runbook's daily backup: a day and a bit is late, as the example alert rules say (26 h).
  const stale = ageMs > 26 * 3_600_000 ? ':warning: ' : '';
  const verified = b.verification === 'verified' ? 'verified' : b.verification === 'failed' ? ':x: verification failed' : 'not verified';
  return `${stale}\`${escapeMrkdwn(b.name)}\` · ${formatBytes(b.sizeBytes)} · ${formatDuration(ageMs)} ago · ${verified}`;
}

/** The recoverable window and the newest base backup: what `restore --to-time` can reach now. */
function pitrLines(pitr: NonNullable<HomeResult['pitr']>, now: Date): string {
  if (!pitr.ok) return unavailable(pitr);
  const { newest, window, problem } = pitr.data;
  const lines: string[] = [];
  if (window === null) lines.push(`:warning: no recoverable window: ${escapeMrkdwn(problem ?? 'unknown')}`);
  else if (window.oldest === null) lines.push(':warning: nothing recoverable: no base backup on this timeline yet (`/recipedb pitr backup --full`)');
  else if (window.newestIsNow) lines.push(`recoverable from ${formatTime(window.oldest)} to now (timeline ${window.timeline})`);
  else {
    const until = window.newest ? formatTime(window.newest) : 'an unknown point';
    lines.push(`:warning: recoverable from ${formatTime(window.oldest)} to ${until} only: ${escapeMrkdwn(window.newestLimit ?? 'archiving is not working')}`);
  }
  if (newest) lines.push(`newest base backup \`${escapeMrkdwn(newest.label)}\` (${newest.type}) · ${formatDuration(Math.max(0, now.getTime() - newest.stoppedAt.getTime()))} ago`);
  return lines.join('\n');
}

const CHART_HINT = '`/recipedb chart connections` (or tps, cache-hit, size, longest-tx, locks) posts the picture of any figure.';

function dayBlocks(day: HomeResult['day'], chart: HomeResult['chart']): Block[] {
  const shown = chart.ok ? chart.data : null;
  if (shown?.kind === 'image') {
    const tps = day.ok ? figureLine(day.data.tps, 'commits/s') : null;
    return [
      section('*Last 24 h*'),
      slackFileImage({ fileId: shown.fileId, altText: shown.altText, title: `Connections, 24 h to ${formatTime(shown.windowTo)}` }),
      ...(tps ? [section(codeBlock(tps))] : []),
      context([`The picture is drawn again at most every ${formatDuration(HOME_CHART_TIMING.refreshMs)}. ${CHART_HINT}`]),
    ];
  }
  const notes = [pictureNote(chart, shown), CHART_HINT].filter((n): n is string => n !== null);
  if (!day.ok) return [section(`*Last 24 h*\n${unavailable(day)}`), context(notes)];
  const lines = [figureLine(day.data.connections, 'connections'), figureLine(day.data.tps, 'commits/s')].filter((l): l is string => l !== null);
  if (lines.length === 0) return [section('*Last 24 h*\nno samples yet (HISTORY_INTERVAL)'), context(notes)];
  return [section(`*Last 24 h*\n${codeBlock(lines.join('\n'))}`), context(notes)];
}

/** Why the sparklines stand where the picture would be, when there is something to say. */
function pictureNote(chart: HomeResult['chart'], shown: HomeChartShown | null): string | null {
  if (!chart.ok) return `The picture: ${unavailable(chart)}`;
  if (shown === null || shown.kind === 'off') return 'Set HOME_CHART_CHANNEL for a picture here.';
  if (shown.kind === 'image') return null;
  if (shown.drawing) return ':hourglass_flowing_sand: The picture is being drawn: it shows here in a few seconds.';
  if (shown.failure) return `:warning: The picture could not be drawn at ${formatTime(shown.failure.at)}: ${escapeMrkdwn(shown.failure.reason)}. It is tried again ${formatDuration(HOME_CHART_TIMING.retryMs)} later.`;
  return null;
}

function figureLine(chart: FigureChart, label: string): string | null {
  const line = sparkline(chart.series[0]?.points.map((p) => p[1]) ?? [], SPARKLINE_WIDTH);
  if (!line) return null;
  const round = (v: number | null) => (v === null ? 'n/a' : v >= 10 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
  return `${label.padEnd(12)} ${line}  now ${round(chart.summary.latest)}, peak ${round(chart.summary.max)}`;
}
