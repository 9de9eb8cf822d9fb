/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), computed by
 * the bot, so that `ALTER ROLE … PASSWORD '<verifier>'` carries no password: the server stores the
 * verifier as it is, and its log (even with log_statement = all) holds nothing that logs in.
 *
 *   const verifier = await scramSha256Verifier(password);
 *   // 'SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>' (base64), as pg_authid.rolpassword holds it
 *
 * PostgreSQL runs the password through SASLprep first; for printable ASCII that changes nothing,
 * which is why only such passwords are accepted here (the bot's own are base64url).
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's default (scram_iterations, 4096 up to PostgreSQL 15, still the default in 16+). */
export const SCRAM_ITERATIONS = 4096;
/** PostgreSQL's own salt length (SCRAM_DEFAULT_SALT_LEN). */
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export interface ScramKeys {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export async function scramSha256Keys(password: string, options: { salt?: Buffer; iterations?: number } = {}): Promise<ScramKeys> {
  if (!PRINTABLE_ASCII.test(password)) throw new Error('the SCRAM verifier is computed for printable ASCII passwords only (SASLprep leaves them unchanged)');
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    iterations,
    salt,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

export async function scramSha256Verifier(password: string, options: { salt?: Buffer; iterations?: number } = {}): Promise<string> {
  const keys = await scramSha256Keys(password, options);
  return `SCRAM-SHA-256$${keys.iterations}:${keys.salt.toString('base64')}$${keys.storedKey.toString('base64')}:${keys.serverKey.toString('base64')}`;
}
