import type { SettingCheck, SettingsResult, SettingVerdict } from '../../handlers/settings.js';
import { context, escapeMrkdwn, fitMessage, header, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';
import { formatBytes } from '../../format.js';

const ICON: Record<SettingVerdict, string> = { ok: ':large_green_circle:', review: ':warning:', rule: ':information_source:' };

export function settingsView(result: SettingsResult): Message {
  const { checks } = result;
  const blocks: Block[] = [header('Server settings')];
  if (checks.length === 0) {
    blocks.push(section('The server reported none of the checked settings.'), measuredAt(result.measuredAt));
    return fitMessage({ text: 'Server settings: none reported', blocks });
  }

  const toReview = checks.filter((c) => c.verdict === 'review');
  const pending = checks.filter((c) => c.pendingRestart);
  const findings = [
    toReview.length ? `:warning: *${toReview.length} to review:* ${toReview.map((c) => c.name).join(', ')}` : ':large_green_circle: *Nothing to review*',
    pending.length ? `:arrows_counterclockwise: ${pending.length} change${pending.length === 1 ? ' waits' : 's wait'} for a restart` : '',
  ].filter(Boolean);
  blocks.push(section(findings.join('\n')));
  blocks.push(...sectionFields(checks.map(field)));
  blocks.push(
    context([
      result.memoryBytes === null
        ? `Server memory unknown (${escapeMrkdwn(result.memorySource)}): memory settings are compared with each other, or the rule of thumb is given.`
        : `Judged against ${formatBytes(result.memoryBytes)} of server memory: ${escapeMrkdwn(result.memorySource)}.`,
      'Source: where the value comes from (default, config file, ALTER SYSTEM, override by the server…).',
    ]),
    measuredAt(result.measuredAt),
  );
  const text = toReview.length ? `Server settings: review ${toReview.map((c) => c.name).join(', ')}` : 'Server settings: nothing to review';
  return fitMessage({ text, blocks });
}

function field(check: SettingCheck): string {
  const restart = check.pendingRestart
    ? `\n:arrows_counterclockwise: restart pending${check.pendingValue === null ? '' : ` → ${escapeMrkdwn(check.pendingValue)}`}`
    : '';
  return `${ICON[check.verdict]} *${escapeMrkdwn(check.name)}*\n\`${escapeMrkdwn(check.value)}\` · ${escapeMrkdwn(check.source)}${restart}\n${escapeMrkdwn(check.recommendation)}`;
}
