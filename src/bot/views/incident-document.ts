/**
 * The incident document the runbook asks for (Timeline, Impact, Root Cause, Resolution,
 * Prevention), as Markdown for the postmortem, built from what the timeline recorded.
 *
 *   const markdown = incidentDocument(incident, events); // '# Incident #3: …\n\n## Timeline\n…'
 */
import { formatDuration } from '../../duration.js';
import { formatTime } from '../../format.js';
import type { Incident, IncidentEvent } from '../../state/incidents.js';

export const TO_BE_WRITTEN = '_to be written_';

export interface DocumentSection {
  title: 'Impact' | 'Root Cause' | 'Resolution' | 'Prevention';
  text: string | null;
}

export function documentSections(incident: Incident): DocumentSection[] {
  return [
    { title: 'Impact', text: incident.impact },
    { title: 'Root Cause', text: incident.rootCause },
    { title: 'Resolution', text: incident.resolution },
    { title: 'Prevention', text: incident.prevention },
  ];
}

/** Events in the order they happened (a message added later keeps its original time). */
export function chronological(events: readonly IncidentEvent[]): IncidentEvent[] {
  return [...events].sort((a, b) => a.at.getTime() - b.at.getTime() || a.id - b.id);
}

export function incidentDuration(incident: Incident, now: Date): string {
  return formatDuration((incident.resolvedAt ?? now).getTime() - incident.startedAt.getTime());
}


export function incidentDocument(incident: Incident, events: readonly IncidentEvent[], now: Date = new Date()): string {
  const lines = [
    `# Incident #${incident.id}: ${incident.title}`,
    '',
    `- Severity: ${incident.severity}`,
    `- Status: ${incident.status}`,
    `- Commander: @${incident.commander}`,
    `- Declared by: @${incident.declaredBy}`,
    `- Started: ${formatTime(incident.startedAt)}`,
    ...(incident.resolvedAt ? [`- Resolved: ${formatTime(incident.resolvedAt)}`] : []),
    `- Duration: ${incidentDuration(incident, now)}`,
    '',
    '## Timeline',
    '',
    ...(events.length ? chronological(events).map((e) => `- ${formatTime(e.at)} — @${e.actor} — ${e.text}`) : [TO_BE_WRITTEN]),
  ];
  for (const section of documentSections(incident)) {
    lines.push('', `## ${section.title}`, '', section.text ?? TO_BE_WRITTEN);
  }
  return `${lines.join('\n')}\n`;
}
