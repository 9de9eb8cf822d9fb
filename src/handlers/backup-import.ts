/**
 * `backup import <name>` (gated): accepts a file the bot did not write — the runbook's script's, a
 * copy from elsewhere — for `backup verify` and `restore`. A backup file is a script the bot will
 * run as its database user, so a second person approves it, shown its exact size and checksum
 * and that the bot did not write it. On approval the file is read again, and recorded only when
 * its bytes are still the approved ones.
 */
import { z } from 'zod';
import { formatBytes } from '../format.js';
import { markBackupInUse } from '../ops/backup/backups-in-use.js';
import { BackupIntegrityError, checkBackupIntegrity } from '../ops/backup/integrity.js';
import { BACKUP_FILE_PATTERN } from '../ops/backup/backup-name.js';
import { recordBackupFile } from '../state/backup-records.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { noFlags } from './args.js';
import { defineHandler } from './handler.js';
import { Refusal } from './refusal.js';
import { chooseBackup } from './stored-backups.js';

const importPlan = z.object({
  name: z.string().regex(BACKUP_FILE_PATTERN),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().min(0),
});
export type ImportPlan = z.infer<typeof importPlan>;

const ONE_NAME = 'import takes one backup name, as `backups` lists it';

const importArgs = z
  .object({ positional: z.tuple([z.string().min(1, ONE_NAME)], { error: ONE_NAME }), flags: noFlags(ONE_NAME) })
  .transform(({ positional: [name] }) => ({ name }));

export const backupImportHandler = defineHandler({
  name: 'backup',
  usage: 'backup import <name>',
  summary: 'accept a backup file the bot did not write (the runbook\'s) for verify and restore, showing its size and checksum',
  gated: true,
  args: importArgs,
  async run(args, ctx): Promise<GatedResult<ImportPlan>> {
    const backup = await chooseBackup(ctx, args.name, 'import');
    if (backup.trust === 'bot' || backup.trust === 'imported') {
      return { kind: 'nothing', message: `${backup.name} is ${backup.trust === 'bot' ? 'written by the bot' : 'already imported'}: it can be verified and restored as it is; nothing to do.` };
    }
    await ctx.progress(`Checking ${backup.name} (${formatBytes(backup.sizeBytes)})…`);
    const done = markBackupInUse(backup.name);
    let checked;
    try {
      checked = await checkBackupIntegrity(backup.path);
    } catch (error) {
      if (error instanceof BackupIntegrityError) throw new Refusal(`Cannot import: ${error.message}. Nothing was touched and no approval was requested.`);
      throw error;
    } finally {
      done();
    }
    const recorded = backup.record?.fingerprint;
    return planned(
      'backup-import',
      `accept ${backup.name}, a backup file the bot did NOT write, for verify and restore`,
      [
        `${backup.name}: ${formatBytes(checked.fileBytes)} (${checked.fileBytes} bytes), SHA-256 ${checked.sha256}`,
        recorded
          ? `NOT the file the bot wrote under this name: the bot recorded ${recorded.sizeBytes} bytes, SHA-256 ${recorded.sha256.slice(0, 12)}…`
          : 'NOT written by the bot: the state database has no record of it (made outside the bot, e.g. by the runbook\'s script)',
        'once imported, `restore` runs its SQL as the bot\'s database user (never its psql meta-commands)',
      ],
      { name: backup.name, sha256: checked.sha256, sizeBytes: checked.fileBytes },
    );
  },
});

export const backupImportAction: GatedAction<ImportPlan> = {
  action: 'backup-import',
  plan: importPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const backup = await chooseBackup(ctx, plan.name, 'import').catch((error: unknown) => {
      if (error instanceof Refusal) return undefined;
      throw error;
    });
    if (backup === undefined) return { ok: false, summary: `${plan.name} is no longer in BACKUP_DIR; nothing was imported`, lines: [] };
    const done = markBackupInUse(backup.name);
    try {
      // Read again, and its fingerprint taken in the same pass that proves it is the approved file.
      const checked = await checkBackupIntegrity(backup.path, { expectedSha256: plan.sha256 }).catch((error: unknown) => {
        if (error instanceof BackupIntegrityError) return error;
        throw error;
      });
      if (checked instanceof BackupIntegrityError) {
        return { ok: false, summary: `${plan.name} is not the file that was approved (${checked.message}); nothing was imported`, lines: [] };
      }
      await recordBackupFile(ctx.state, {
        name: backup.name,
        origin: 'imported',
        fingerprint: checked.fingerprint,
        takenAt: backup.takenAt,
        recordedBy: ctx.instance,
        requestedBy: ctx.requester,
        approvedBy: ctx.approver,
      });
      return {
        ok: true,
        summary: `imported ${backup.name}: \`backup verify ${backup.name}\` and \`restore ${backup.name}\` now accept it`,
        lines: [`${formatBytes(checked.fileBytes)}, SHA-256 ${checked.sha256}`, `requested by ${ctx.requester}, approved by ${ctx.approver}`],
      };
    } finally {
      done();
    }
  },
};
