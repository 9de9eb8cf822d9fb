/**
 * Real services (pools, migrated state store, recorder, optional Kubernetes) over test databases,
 * for handler-level tests that need no Slack.
 *
 *   const services = await openTestServices({ databaseUrl: await createDemoTestDatabase() });
 *   const ctx = handlerContext(services, { userId: 'U_ALICE', channelId: 'C_OPS' });
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openServices, type OpenServices } from '../../src/services.js';
import type { HandlerContext } from '../../src/handlers/handler.js';
import type { Actor } from '../../src/context.js';
import type { PitrServices } from '../../src/ops/pitr/pitr-services.js';
import { COMMANDS } from '../../src/bot/commands.js';
import { captureLog, type LogCapture } from './log-capture.js';
import { createDemoTestDatabase, createTestDatabase } from './postgres.js';

export interface TestServices extends OpenServices {
  logCapture: LogCapture;
}

export async function openTestServices(
  options: { databaseUrl?: string; stateDatabaseUrl?: string; kubeconfig?: string; env?: Record<string, string>; pitr?: PitrServices } = {},
): Promise<TestServices> {
  const databaseUrl = options.databaseUrl ?? (await createDemoTestDatabase());
  const stateDatabaseUrl = options.stateDatabaseUrl ?? (await createTestDatabase('state'));
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    STATE_DATABASE_URL: stateDatabaseUrl,
    KUBECONFIG: options.kubeconfig,
    BACKUP_SCHEDULE: 'off',
    // Like the backup schedule: sampled only where a test asks for it, so no sample runs beside what a test measures.
    HISTORY_INTERVAL: 'off',
    ...options.env,
  });
  const logCapture = captureLog();
  const log = createLogger({ level: 'debug', secrets: config.secrets, destination: logCapture.stream, pretty: false });
  const services = await openServices(config, log, { databaseUrl, stateDatabaseUrl }, options.pitr ? { pitr: options.pitr } : {});
  return Object.assign(services, { logCapture });
}

export function handlerContext(services: OpenServices, actor: Actor = { userId: 'U_ALICE', channelId: 'C_OPS' }): HandlerContext & { progressLog: string[] } {
  const progressLog: string[] = [];
  return {
    ...services,
    actor,
    commands: COMMANDS.map((c) => c.info),
    progress: async (text) => {
      progressLog.push(text);
    },
    progressLog,
  };
}
