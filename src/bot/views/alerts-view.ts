/** `alerts`: the alerts firing now, worst and oldest first, and where the list comes from. */
import { formatDuration } from '../../duration.js';
import { formatTime } from '../../format.js';
import { alertName, alertSeverity, alertTitle, labelText } from '../../handlers/alert-facts.js';
import type { AlertsResult, FiringAlert } from '../../handlers/alerts.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, mrkdwnLink, section, type Block, type Message } from '../blocks.js';

const MAX_SHOWN = 25;

function entry(alert: FiringAlert, now: Date): string {
  const labels = labelText(alert.labels);
  const facts = [
    `*${escapeMrkdwn(alertSeverity(alert))}*`,
    `*${escapeMrkdwn(alertName(alert.labels))}*`,
    `firing ${formatDuration(now.getTime() - alert.startsAt.getTime())} (since ${formatTime(alert.startsAt)})`,
  ];
  if (alert.suppressed) facts.push(':no_bell: silenced or inhibited');
  if (alert.heardAt) facts.push(`last notified ${formatDuration(now.getTime() - alert.heardAt.getTime())} ago`);
  const link = alert.generatorURL ? ` · ${mrkdwnLink(alert.generatorURL, 'graph')}` : '';
  return `${facts.join(' · ')}\n${escapeMrkdwn(alertTitle(alert))}${labels && alert.annotations.summary ? ` · ${escapeMrkdwn(labels)}` : ''}${link}`;
}

export function alertsView(result: AlertsResult): Message {
  const now = result.measuredAt;
  const { alerts } = result;
  const blocks: Block[] = [header(alerts.length ? `Alerts firing now (${alerts.length + result.truncated})` : 'Alerts firing now')];
  const source =
    result.source === 'alertmanager'
      ? 'From Alertmanager.'
      : `What the bot has received from Alertmanager and not seen resolved (${escapeMrkdwn(result.alertmanagerProblem ?? 'Alertmanager was not asked')}).`;
  blocks.push(context([source]));
  if (alerts.length === 0) {
    blocks.push(section(':large_green_circle: No alerts are firing.'), measuredAt(now));
    return fitMessage({ text: 'No alerts are firing.', blocks });
  }
  const entries = listWithMore(alerts, MAX_SHOWN, (a) => entry(a, now), 'alerts');
  blocks.push(...entries.map(section));
  if (result.truncated > 0) blocks.push(context([`+${result.truncated} more that Alertmanager left out of its notifications (max_alerts)`]));
  blocks.push(measuredAt(now));
  const worst = alerts[0] as FiringAlert;
  return fitMessage({ text: `${alerts.length} ${alerts.length === 1 ? 'alert' : 'alerts'} firing, worst: ${alertName(worst.labels)} (${alertSeverity(worst)})`, blocks });
}
