/**
 * The child process of slack-sender.ts: sends signed `/recipedb status` commands, shaped as Slack
 * sends them, `concurrency` at a time, and reports when each was sent and how long its ack took.
 */
import { randomUUID } from 'node:crypto';
import { slackClient } from '../test/support/slack-client.js';
import type { SendJob, SenderReply, SenderRequest, SentCommand } from './slack-sender.js';
import { runConcurrently } from './stats.js';

async function send(job: SendJob): Promise<SentCommand[]> {
  const client = slackClient({ eventsUrl: job.eventsUrl, signingSecret: job.signingSecret });
  const sent: SentCommand[] = [];
  await runConcurrently(job.channels.length, job.concurrency, async (i) => {
    const channel = job.channels[i] ?? 'C_BENCH';
    const body = new URLSearchParams({
      token: 'verification-token',
      team_id: 'T0BENCH',
      team_domain: 'bench',
      channel_id: channel,
      channel_name: 'bench',
      user_id: 'U_BENCH',
      user_name: 'bench',
      command: '/recipedb',
      text: 'status',
      api_app_id: 'A0BENCH',
      is_enterprise_install: 'false',
      response_url: `${job.responseUrlBase}${randomUUID()}`,
      trigger_id: `${Date.now()}.${i}.${randomUUID().replace(/-/g, '')}`,
    }).toString();
    const headers = client.signedHeaders(body);
    const start = performance.now();
    const answer = await client.raw(body, headers);
    const ackMs = performance.now() - start;
    sent.push({ channel, sentAt: performance.timeOrigin + start, ackMs, status: answer.status });
  });
  return sent;
}

process.on('message', (request: SenderRequest) => {
  send(request.job).then(
    (sent) => reply({ id: request.id, sent }),
    (error: unknown) => reply({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));

function reply(message: SenderReply): void {
  process.send?.(message);
}
