/**
 * A process that opens a maintenance session and keeps a statement running in it, for the test
 * that kills the process the way a replica dies (SIGKILL) and watches the server end the statement.
 *
 *   node --import tsx test/support/maintenance-sleeper.ts   (DATABASE_URL in the environment)
 */
import { openMaintenanceSession } from '../../src/ops/postgres/maintenance-session.js';

const session = await openMaintenanceSession({ url: process.env.DATABASE_URL ?? '', lockTimeoutMs: 5_000, connectTimeoutMs: 5_000 });
process.stdout.write(`${JSON.stringify(session.identity)}\n`);
await session.query('SELECT pg_sleep(120)');
