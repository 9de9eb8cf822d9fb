/**
 * Turns an error from pg, Kubernetes or the network into the one sentence an operator reads.
 * Details stay in the log.
 */
import { TimeoutError } from '../with-timeout.js';

const PG_CODES: Record<string, string> = {
  '28P01': 'the database refused the password',
  '28000': 'the database refused the login',
  '3D000': 'the database does not exist',
  '57014': 'the query was cancelled by the statement timeout',
  '57P01': 'the database is shutting down',
  '57P03': 'the database is starting up and not accepting connections yet',
  '53300': 'the database has no free connection slots',
  '55P03': 'a lock could not be taken in time',
  '42501': 'the bot\'s database user lacks the permission for this',
};

export function describeFailure(error: unknown): string {
  if (error instanceof TimeoutError) return error.message;
  const e = error as { code?: string; message?: string; statusCode?: number; code_?: number };
  if (typeof e?.code === 'string') {
    if (PG_CODES[e.code]) return PG_CODES[e.code] as string;
    if (e.code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
    if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'the host name does not resolve';
    if (e.code === 'ETIMEDOUT') return 'the connection timed out';
    if (e.code === 'ECONNRESET') return 'the connection was reset';
  }
  const message = e?.message ?? String(error);
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) {
    return 'the database did not accept a connection in time';
  }
  if (/Connection terminated/i.test(message)) return 'the connection to the database was lost';
  if (/Query read timeout/i.test(message)) return 'the database stopped answering';
  // AggregateError from a failed dual-stack connect carries no message of its own.
  if (error instanceof AggregateError && error.errors.length) return describeFailure(error.errors[0]);
  return message.split('\n')[0]?.slice(0, 200) || 'unknown error';
}
