/** What OPS_CHANNEL is told when an application a dead replica's restore left at 0 was scaled back (jobs/app-scale-recovery.ts). */
import type { AppRecovery } from '../../jobs/app-recovery.js';
import { actorMention, context, escapeMrkdwn, fitMessage, section, type Message } from '../blocks.js';
import { formatTime } from '../../format.js';

export function appRecoveryView(recovery: AppRecovery): Message {
  const { down } = recovery;
  const app = `${down.namespace}/${down.deployment}`;
  const text =
    recovery.outcome === 'scaled-back'
      ? `Scaled ${app} back to ${down.replicas} replicas: the bot replica running a ${down.operation} stopped with it at 0`
      : `${app} is at ${recovery.now} replicas again (someone scaled it); the ${down.operation} that stopped it had left it at 0`;
  const by = down.approvedBy ? ` approved by ${actorMention(down.approvedBy)}` : '';
  return fitMessage({
    text,
    blocks: [
      section(`:arrows_counterclockwise: ${escapeMrkdwn(text)}.`),
      context([
        `The ${escapeMrkdwn(down.operation)}${by} (request ${escapeMrkdwn(down.requestId ?? '?')}) scaled it to 0 at ${formatTime(down.scaledAt)} on replica ${escapeMrkdwn(down.instance)}, which stopped before it finished: check what it did (\`/recipedb audit\`, \`/recipedb status\`).`,
      ]),
    ],
  });
}
