/**
 * What OPS_CHANNEL is told when an application a dead replica's restore left at 0 was scaled back;
 * when the database deployment an interrupted point-in-time restore stopped was left at 0 (not
 * started: that one says why, and what to run); and when that restore had started the database
 * again but it has not finished recovering (the application waits for it to promote)
 * (jobs/app-scale-recovery.ts).
 */
import type { AppRecovery } from '../../jobs/app-recovery.js';
import { actorMention, context, escapeMrkdwn, fitMessage, section, type Message } from '../blocks.js';
import { formatTime } from '../../format.js';

export function appRecoveryView(recovery: AppRecovery): Message {
  if (recovery.outcome === 'database-left-down') return databaseLeftDownView(recovery);
  if (recovery.outcome === 'database-recovering') return databaseRecoveringView(recovery);
  const { down } = recovery;
  const app = `${down.namespace}/${down.deployment}`;
  const text =
    recovery.outcome === 'scaled-back'
      ? `Scaled ${app} back to ${down.replicas} replicas: the bot replica running a ${down.operation} stopped with it at 0`
      : recovery.outcome === 'database-up-again'
        ? `The database deployment ${app} runs again (${recovery.now} ${recovery.now === 1 ? 'replica' : 'replicas'}) and has finished recovering${recovery.timeline ? ` (on timeline ${recovery.timeline})` : ''}; the applications the interrupted ${down.operation} stopped are scaled back now`
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

function databaseLeftDownView(recovery: AppRecovery): Message {
  const { down } = recovery;
  const database = `${down.namespace}/${down.deployment}`;
  const text = `The database deployment ${database} was left at 0 replicas by an interrupted ${down.operation}: the database is DOWN, and the bot did not start it again`;
  const by = down.approvedBy ? ` approved by ${actorMention(down.approvedBy)}` : '';
  const held = (recovery.heldBack ?? []).map((a) => `${a.namespace}/${a.deployment} (had ${a.replicas})`);
  const scaleBack = recovery.scaleBack ?? `kubectl -n ${down.namespace} scale deployment/${down.deployment} --replicas=${down.replicas}`;
  return fitMessage({
    text,
    blocks: [
      section(`:rotating_light: ${escapeMrkdwn(text)}.`),
      section(
        [
          `*Why not started:* its data directory may hold a half-done \`pgbackrest restore --delta\`; starting PostgreSQL on that would serve a mix of old and new files.`,
          `*Next:* scale it back to ${down.replicas} with \`${escapeMrkdwn(scaleBack)}\` — if the restore request is still in the ConfigMap ${escapeMrkdwn(`${down.deployment}-pitr-restore`)}, the pod's init container runs the restore again from the start before PostgreSQL starts. Then check it (\`/recipedb status\`, \`/recipedb pitr\`) and run \`/recipedb restore --to-time …\` again if it is not at the moment you wanted.`,
          held.length > 0
            ? `*Application:* ${escapeMrkdwn(held.join(', '))} stays at 0 while the database is down; the bot scales it back once the database runs again and has finished recovering.`
            : '*Application:* none is held at 0.',
        ].join('\n'),
      ),
      context([
        `The ${escapeMrkdwn(down.operation)}${by} (request ${escapeMrkdwn(down.requestId ?? '?')}) scaled it to 0 at ${formatTime(down.scaledAt)} on replica ${escapeMrkdwn(down.instance)}, which stopped before it finished: \`/recipedb audit\` shows how far it got.`,
      ]),
    ],
  });
}

function databaseRecoveringView(recovery: AppRecovery): Message {
  const { down } = recovery;
  const database = `${down.namespace}/${down.deployment}`;
  const text = `The interrupted ${down.operation} had started the database deployment ${database} again: the restore goes on in its pod, and the database has not finished recovering (${recovery.why ?? '?'})`;
  const by = down.approvedBy ? ` approved by ${actorMention(down.approvedBy)}` : '';
  const held = (recovery.heldBack ?? []).map((a) => `${a.namespace}/${a.deployment} (had ${a.replicas})`);
  return fitMessage({
    text,
    blocks: [
      section(`:hourglass_flowing_sand: ${escapeMrkdwn(text)}.`),
      section(
        [
          held.length > 0
            ? `*Application:* ${escapeMrkdwn(held.join(', '))} stays at 0 until the database has promoted (\`pg_is_in_recovery()\` false); the bot scales it back then, and says so. Until then the server accepts read-only sessions only, on data not yet at the restore's moment.`
            : '*Application:* none is held at 0.',
          `*Meanwhile:* follow it with \`/recipedb status\` and \`/recipedb logs\` (\`--container pitr-restore\` while the data directory is restored); if it does not promote, \`/recipedb events\` and the logs say why, and the application stays at 0 until it does or someone scales it.`,
          `*Then:* the bot's report of this restore never finished: check the data (\`/recipedb pitr\`, the tables you care about) and run \`/recipedb restore --to-time …\` again if it is not at the moment you wanted.`,
        ].join('\n'),
      ),
      context([
        `The ${escapeMrkdwn(down.operation)}${by} (request ${escapeMrkdwn(down.requestId ?? '?')}) stopped the database at ${formatTime(down.scaledAt)} on replica ${escapeMrkdwn(down.instance)}, which stopped before it finished: \`/recipedb audit\` shows how far it got.`,
      ]),
    ],
  });
}
