/**
 * Quotes an SQL identifier (database, schema, table or role name) so that it can be spliced into
 * statements that do not accept bind parameters, such as CREATE DATABASE or DROP TABLE.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('An SQL identifier cannot be empty.');
  // A NUL byte would truncate the statement on the server side and change its meaning.
  if (name.includes('\0')) throw new Error('An SQL identifier cannot contain a NUL character.');
  return `"${name.replaceAll('"', '""')}"`;
}
