/** A backup file that is not whole, not readable, or not the one that was recorded or approved: the message says which. */
export class BackupIntegrityError extends Error {
  override name = 'BackupIntegrityError';
}
