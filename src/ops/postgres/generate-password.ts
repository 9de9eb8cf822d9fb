/**
 * A new database password: 32 bytes from the operating system's CSPRNG, base64url (43 characters,
 * no padding), so it needs no quoting in a connection URL, an environment variable or YAML.
 *
 *   const password = generatePassword(); // 'mQ3…' (never logged, never shown)
 */
import { randomBytes } from 'node:crypto';

export const PASSWORD_BYTES = 32;

export function generatePassword(): string {
  return randomBytes(PASSWORD_BYTES).toString('base64url');
}
