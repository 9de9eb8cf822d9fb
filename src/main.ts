/**
 * Entry point (`npm start`): the Slack bot when SLACK_BOT_TOKEN is set, else the local console.
 */
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { openServices } from './services.js';
import { startSlackApp } from './bot/slack-app.js';
import { runConsole } from './bot/console.js';
import { createScrubber } from './redact.js';

/** Known once the configuration is loaded, so that a start-up failure never prints them. */
let secrets: string[] = [];

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
    secrets = config.secrets;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`recipedb-ops: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.mode === 'console') await startConsole(config);
  else await startSlack(config);
}

async function startSlack(config: Config): Promise<void> {
  const log = createLogger({ level: config.logLevel, secrets: config.secrets });
  const services = await openServices(config, log, {
    databaseUrl: config.databaseUrl as string,
    stateDatabaseUrl: config.stateDatabaseUrl as string,
  });
  const bot = await startSlackApp(services);
  const shutdown = async (signal: string) => {
    log.info({ signal, graceMs: config.shutdownGraceMs, running: services.lifecycle.running }, 'shutting down: new work is refused, running work may finish');
    const drained = await bot.drain().catch((error: unknown) => {
      log.error({ err: error }, 'the shutdown did not go cleanly');
      return { unfinished: -1 };
    });
    await services.close();
    if (drained.unfinished > 0) log.warn({ unfinished: drained.unfinished }, 'stopped with work still running');
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function startConsole(config: Config): Promise<void> {
  // The terminal belongs to the console: logs go to stderr, and only warnings unless asked.
  const level = process.env.LOG_LEVEL ? config.logLevel : 'warn';
  const log = createLogger({ level, secrets: config.secrets, destination: process.stderr });
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // Development infrastructure (the embedded server, the demo database): the Slack bot never loads it.
  const { ensureLocalDatabases } = await import('./dev/local-databases.js');
  const { stopOnExit } = await import('./dev/local-postgres.js');
  const local = await ensureLocalDatabases(
    { databaseUrl: config.databaseUrl, stateDatabaseUrl: config.stateDatabaseUrl },
    { folder: path.resolve('.local', 'postgres'), say },
  );
  const releaseExitHook = local.server ? stopOnExit(local.server) : () => undefined;
  const services = await openServices(config, log, local);
  try {
    await runConsole({ input: process.stdin, output: process.stdout, services });
  } finally {
    await services.close();
    if (local.server) {
      say('Stopping the embedded PostgreSQL…');
      await local.server.stop();
    }
    releaseExitHook();
  }
}

main().catch((error: unknown) => {
  const scrub = createScrubber(secrets);
  process.stderr.write(`recipedb-ops: ${scrub(error instanceof Error ? error.message : String(error))}\n`);
  process.exit(1);
});

