/**
 * How each `incident` sub-command is answered: a new incident's answer IS its root message; other
 * changes confirm in the channel and redraw the root; the resolution posts the document in the
 * thread, with the Markdown file for the postmortem.
 */
import type { HandlerContext } from '../handlers/handler.js';
import { attachIncidentRoot, type IncidentResult } from '../handlers/incident.js';
import { incidentDocument } from './views/incident-document.js';
import type { Incident } from '../state/incidents.js';
import type { CommandAnswer, MessageEdit } from './command-answer.js';
import {
  incidentAlreadyOpenView, incidentChangeView, incidentDocumentView, incidentRootView, incidentStatusView,
} from './views/incident-view.js';

export function incidentAnswer(result: IncidentResult, ctx: HandlerContext): CommandAnswer {
  const now = ctx.now();
  const rootEdit = (incident: Incident): MessageEdit[] =>
    incident.rootTs ? [{ channel: incident.channel, ts: incident.rootTs, message: incidentRootView(incident, now) }] : [];
  switch (result.kind) {
    case 'started':
      if (result.existing) return { message: incidentAlreadyOpenView(result.incident) };
      return {
        message: incidentRootView(result.incident, now),
        posted: (ts) => attachIncidentRoot(ctx, result.incident.id, ts),
      };
    case 'updated':
      return { message: incidentChangeView(result.change), edits: rootEdit(result.incident) };
    case 'status':
      return { message: incidentStatusView(result) };
    case 'resolved':
      return {
        message: incidentDocumentView(result.incident, result.events, now),
        threadTs: result.incident.rootTs ?? undefined,
        edits: rootEdit(result.incident),
        upload: {
          filename: `incident-${result.incident.id}.md`,
          title: `Incident #${result.incident.id}: ${result.incident.title}`,
          content: incidentDocument(result.incident, result.events, now),
        },
      };
  }
}
