/**
 * The one place that turns what pg, Kubernetes, fetch or the network threw into the sentence an
 * operator reads. The sentence travels as an Error whose `cause` is the original, so the log
 * still has the detail while chat gets one clear line.
 *
 *   describeFailure(error)                                   // 'the database refused the password'
 *   throw failure('the exporter could not be reached', error) // sentence for chat, cause for the log
 *   networkProblem(error)                                    // 'connection refused' | undefined
 */
import { TimeoutError } from '../with-timeout.js';

const PG_CODES: Record<string, string> = {
  '28P01': 'the database refused the password',
  '28000': 'the database refused the login',
  '57014': 'the query was cancelled by the statement timeout',
  '57P01': 'the database is shutting down',
  '57P03': 'the database is starting up and not accepting connections yet',
  '53300': 'the database has no free connection slots',
  '55P03': 'a lock could not be taken in time',
  '42501': "the bot's database user lacks the permission for this",
};

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** An error whose message is already the operator's sentence; `cause` keeps what was thrown, for the log. */
export class Failure extends Error {
  override name = 'Failure';
}

export function failure(sentence: string, cause?: unknown): Failure {
  return cause === undefined ? new Failure(sentence) : new Failure(sentence, { cause });
}

/** The message of anything thrown (an Error's message, else its string form). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The network-level reason (refused, unresolvable, reset…), looking through fetch's `cause` and dual-stack AggregateErrors. */
export function networkProblem(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: unknown } | null;
  if (typeof e?.code === 'string' && NETWORK[e.code] !== undefined) return NETWORK[e.code];
  if (error instanceof AggregateError && error.errors.length) return networkProblem(error.errors[0]);
  if (e?.cause !== undefined && e.cause !== error) return networkProblem(e.cause);
  return undefined;
}

export function describeFailure(error: unknown): string {
  if (error instanceof TimeoutError || error instanceof Failure) return error.message;
  const e = error as { code?: unknown; message?: string } | null;
  if (typeof e?.code === 'string' && PG_CODES[e.code]) return PG_CODES[e.code] as string;
  // The server's own sentence names the database: 'database "x" does not exist'.
  if (e?.code === '3D000' && e.message) return e.message;
  const network = networkProblem(error);
  if (network !== undefined) return network === 'connection refused' ? 'connection refused (is the server running?)' : network;
  const message = e?.message ?? String(error);
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) {
    return 'the database did not accept a connection in time';
  }
  if (/Connection terminated/i.test(message)) return 'the connection to the database was lost';
  if (/Query read timeout/i.test(message)) return 'the database stopped answering';
  return message.split('\n')[0]?.slice(0, 200) || 'unknown error';
}
