/**
 * The Slack app: Bolt over HTTP (`POST /slack/events` on PORT) or Socket Mode, one `/recipedb`
 * listener that acks at once and hands the line to the dispatcher, and the health routes.
 *
 *   const bot = await startSlackApp(services); // … await bot.stop();
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPModuleFunctions, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Services } from '../context.js';
import { boltLogger } from './bolt-logger.js';
import { checkCommandLine, dispatchCommand } from './dispatch.js';
import { httpRoutes, serveRoutes } from './http-routes.js';
import { progressView, refusalView } from './views/usage-view.js';
import { channelAllowed, wrongChannel } from './channels.js';
import { plainSlackText } from './slack-text.js';
import { registerApprovals } from './approval-actions.js';
import { registerAppHome } from './app-home.js';
import { drainingMiddleware } from './draining.js';
import { SHUTDOWN_CLEANUP_MS } from '../lifecycle.js';
import { incidentThread } from './incident-thread.js';
import { registerIncidentListeners } from './incident-listeners.js';
import { registerMaintenanceCancel } from './maintenance-actions.js';
import { SLASH_COMMAND } from './slack-surface.js';
import { GATED_ACTIONS } from '../handlers/gated-actions.js';
import { context, escapeMrkdwn, type Message } from './blocks.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';
import { appRecoveryView } from './views/app-recovery-view.js';
import type { ProgressOptions } from '../handlers/handler.js';
import { scheduledBackupView } from './views/scheduled-backup-view.js';
import { scheduledPitrBackupView } from './views/scheduled-pitr-backup-view.js';
import { MAX_BODY_BYTES, refuseLargeBodies } from './read-body.js';
import { ALERTS_PATH, alertsRoute } from './alerts-route.js';
import { alertMessages, type AlertMessages } from './alert-messages.js';
import { registerAlertActions } from './alert-actions.js';
import { recordAlertTransitions } from '../handlers/alert-notifications.js';
import type { StoredNotification } from '../state/alert-groups.js';

export interface SlackBot {
  app: App;
  /** The port actually bound (PORT, or the one the OS chose for PORT=0). */
  port: number;
  /** SIGTERM: refuse new work, let running work finish (SHUTDOWN_GRACE), then stop. */
  drain(): Promise<{ unfinished: number }>;
  stop(): Promise<void>;
}

export async function startSlackApp(services: Services): Promise<SlackBot> {
  const { config, log, metrics } = services;
  const socketMode = config.mode === 'slack-socket';
  const { lifecycle } = services;
  const logger = boltLogger(log);
  const scrub = createScrubber(config.secrets);
  // Alertmanager's webhook (only with ALERTS_TOKEN). Alertmanager has its answer once the
  // notification is stored; recording and drawing follow, as tracked work.
  // Set once the app (and its Web API client) exists; no notification arrives before it starts.
  const alertDrawing: { messages?: AlertMessages } = {};
  const afterAlertStored = async (stored: StoredNotification) => {
    await recordAlertTransitions(services, stored).catch((error: unknown) => log.error({ err: error }, 'could not record the alerts of a notification'));
    if (stored.change.kind === 'new' || stored.change.kind === 'changed') await alertDrawing.messages?.sync(stored.group.id);
  };
  const alertRoute = alertsRoute(services, (stored) => void lifecycle.track(afterAlertStored(stored)));
  const routes = [...httpRoutes(services.state, metrics, lifecycle), ...(alertRoute ? [alertRoute] : [])];
  const app = new App({
    token: config.slack.botToken,
    signingSecret: config.slack.signingSecret ?? 'unused-in-socket-mode',
    socketMode,
    appToken: config.slack.appToken,
    // In Socket Mode the routes get a server of our own (serveRoutes): Bolt's side server neither
    // reports a busy port nor the port it got, and does not wait to close.
    customRoutes: socketMode ? [] : routes,
    port: config.port,
    receiver: socketMode ? undefined : boundedHttpReceiver(config.slack.signingSecret ?? '', routes, logger),
    processBeforeResponse: false,
    logger,
    logLevel: LogLevel.INFO,
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: process.env.NODE_ENV === 'test' ? 0 : 3 } },
  });

  app.use(drainingMiddleware(lifecycle));
  const thread = incidentThread(services, app.client);
  services.recorder.addSink(thread.sink);

  app.command(SLASH_COMMAND, async ({ ack, command, client, respond }) => {
    const received = performance.now();
    const actor = { userId: command.user_id, channelId: command.channel_id };
    const observeAck = () => metrics.ackLatency.observe({ kind: 'command' }, (performance.now() - received) / 1000);

    if (!channelAllowed(config.allowedChannels, actor.channelId)) {
      await ack({ response_type: 'ephemeral', ...refusalView(wrongChannel(config.allowedChannels)) });
      observeAck();
      metrics.commands.inc({ command: 'any', outcome: 'refused' });
      return;
    }
    const checked = checkCommandLine(command.text);
    if (!checked.ok) {
      await ack({ response_type: 'ephemeral', ...checked.reply.message });
      observeAck();
      metrics.commands.inc({ command: 'unknown', outcome: 'usage' });
      return;
    }
    await ack();
    observeAck();

    let progressTs: string | undefined;
    // Progress is a courtesy: a message that cannot be posted must not fail the work it reports on.
    const progress = async (text: string, options?: ProgressOptions) => {
      progressTs = await postOrUpdate(actor.channelId, progressView(text, options?.cancelRun), progressTs).catch((error: unknown) => {
        log.warn({ err: error, channel: actor.channelId }, 'could not post progress');
        return progressTs;
      });
    };
    const postOrUpdate = async (channel: string, message: Message, ts?: string): Promise<string | undefined> => {
      if (ts) {
        await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks });
        return ts;
      }
      const posted = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
      return posted.ts;
    };

    const reply = await dispatchCommand(plainSlackText(command.text), actor, services, { progress });
    if (reply.ephemeral) {
      await respond({ response_type: 'ephemeral', text: reply.message.text, blocks: reply.message.blocks }).catch((e: unknown) =>
        log.error({ err: e }, 'could not answer the command'),
      );
      return;
    }
    let message = reply.message;
    if (reply.image) {
      // One file share that carries the answer's blocks: the picture shows under them in a single
      // message. (An image block with slack_file would need the file processed first, and files:read to wait for it.)
      const { png, filename, title, altText } = reply.image;
      const file = { file: png, filename, title, alt_text: altText, blocks: message.blocks };
      const shared = await client
        .filesUploadV2(reply.threadTs ? { ...file, channel_id: actor.channelId, thread_ts: reply.threadTs } : { ...file, channel_id: actor.channelId })
        .then(() => true)
        .catch((error: unknown) => {
          log.warn({ err: error, channel: actor.channelId, command: reply.command }, 'could not upload the picture; posting the answer without it');
          message = { ...message, blocks: [...message.blocks, context([`:warning: The picture could not be uploaded (${escapeMrkdwn(scrub(describeFailure(error)))}).`])] };
          return false;
        });
      if (shared) return;
    }
    let ts: string | undefined;
    try {
      ts = reply.threadTs
        ? (await client.chat.postMessage({ channel: actor.channelId, thread_ts: reply.threadTs, text: message.text, blocks: message.blocks })).ts
        : await postOrUpdate(actor.channelId, message, progressTs);
    } catch (error) {
      // Typically not_in_channel: answer through the response_url instead, visible to the channel.
      log.warn({ err: error, channel: actor.channelId }, 'could not post to the channel; answering through response_url');
      await respond({ response_type: 'in_channel', text: message.text, blocks: message.blocks }).catch((e: unknown) =>
        log.error({ err: e }, 'could not answer the command at all'),
      );
      return;
    }
    // The answer is posted: what follows must not post it a second time when it fails.
    try {
      if (reply.posted && ts) {
        await reply.posted(ts);
        await thread.flushChannel(actor.channelId);
      }
      for (const edit of reply.edits ?? []) {
        await client.chat.update({ channel: edit.channel, ts: edit.ts, text: edit.message.text, blocks: edit.message.blocks });
      }
      if (reply.upload) {
        const file = { filename: reply.upload.filename, title: reply.upload.title, content: reply.upload.content };
        await client.filesUploadV2(
          reply.threadTs ? { ...file, channel_id: actor.channelId, thread_ts: reply.threadTs } : { ...file, channel_id: actor.channelId },
        );
      }
    } catch (error) {
      log.error({ err: error, channel: actor.channelId, command: reply.command }, 'the answer was posted, but what follows it failed');
    }
  });

  const home = registerAppHome(app, services);
  const redrawApproval = registerApprovals(app, services, GATED_ACTIONS, home);
  registerIncidentListeners(app, services);
  const drawAlerts = alertMessages(services, app.client);
  alertDrawing.messages = drawAlerts;
  registerAlertActions(app, services, { messages: drawAlerts, thread });
  registerMaintenanceCancel(app, services);
  const opsChannel = config.opsChannel;
  // What the background jobs (src/jobs/) have to say, shown on Slack.
  const stopListening = services.notices.listen(async (notice) => {
    if (notice.kind === 'approval-changed') await redrawApproval(notice.request);
    else if (notice.kind === 'alert-group-changed') await drawAlerts.sync(notice.groupId);
    else if (notice.kind === 'scheduled-backup' && opsChannel) {
      const message = scheduledBackupView(notice.report);
      await app.client.chat.postMessage({ channel: opsChannel, text: message.text, blocks: message.blocks });
    } else if (notice.kind === 'app-scaled-back' && opsChannel) {
      const message = appRecoveryView(notice.recovery);
      await app.client.chat.postMessage({ channel: opsChannel, text: message.text, blocks: message.blocks });
    } else if (notice.kind === 'scheduled-pitr-backup' && opsChannel) {
      const message = scheduledPitrBackupView(notice.report);
      await app.client.chat.postMessage({ channel: opsChannel, text: message.text, blocks: message.blocks });
    }
  });

  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack listener');
  });

  const sideServer = socketMode
    ? await serveRoutes(routes, config.port, OWN_BODY_PATHS).catch((error: unknown) => {
        stopListening();
        throw error;
      })
    : undefined;
  const started = await app.start(config.port).catch(async (error: unknown) => {
    stopListening();
    await sideServer?.close();
    throw error;
  });
  const port = sideServer ? sideServer.port : ((started as Server).address() as AddressInfo).port;
  log.info({ port, mode: config.mode }, 'recipedb-ops is listening');
  let appStopped: Promise<unknown> | undefined;
  const stopApp = () => (appStopped ??= app.stop());
  const stop = async () => {
    stopListening();
    await stopApp();
    await sideServer?.close();
  };
  return {
    app,
    port,
    async drain() {
      // Socket Mode: disconnecting hands new requests to the other replica's socket at once. Over
      // HTTP the endpoint stays up, answering "restarting", while readiness turns the traffic away.
      if (socketMode) await stopApp().catch((error: unknown) => log.warn({ err: error }, 'could not close the Socket Mode connection'));
      const drained = await lifecycle.drain({
        graceMs: config.shutdownGraceMs,
        cleanupMs: SHUTDOWN_CLEANUP_MS,
        onStopSignal: (running) => log.warn({ running, graceMs: config.shutdownGraceMs }, 'shutdown grace period is over: stopping the work still running'),
      });
      await stop();
      return drained;
    },
    stop,
  };
}

/** POST /alerts checks its bearer token before it reads its body (bounded, by readBoundedBody). */
const OWN_BODY_PATHS = [ALERTS_PATH];

/**
 * Bolt's HTTP receiver, but every request's body is read with a limit before Bolt sees it: Bolt
 * buffers bodies whole, before it checks the signature (read-body.ts).
 */
function boundedHttpReceiver(signingSecret: string, routes: ReturnType<typeof httpRoutes>, logger: ReturnType<typeof boltLogger>): HTTPReceiver {
  const receiver = new HTTPReceiver({ signingSecret, customRoutes: routes, processBeforeResponse: false, logger, logLevel: LogLevel.INFO });
  const listener = receiver.requestListener;
  receiver.requestListener = refuseLargeBodies(
    listener,
    MAX_BODY_BYTES,
    (error, request, response) =>
      // What Bolt does with a listener's synchronous error: 404 for an unknown path, else 500.
      HTTPModuleFunctions.defaultDispatchErrorHandler({ error: error as Error, logger, request, response }),
    { readsOwnBody: OWN_BODY_PATHS },
  );
  return receiver;
}
