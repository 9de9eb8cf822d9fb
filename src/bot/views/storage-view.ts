import type { StorageResult } from '../../handlers/storage.js';
import { formatBytes } from '../../format.js';
import { context, escapeMrkdwn, fitMessage, header, message, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';

export function storageView(result: StorageResult): Message {
  if (!result.configured) {
    const text = 'Kubernetes is not configured, so the volume claim cannot be read: set KUBECONFIG, or run the bot in the cluster.';
    return message(text, [section(text)]);
  }
  const { claim, storageClass, data } = result;
  const where = `${claim.namespace}/${claim.name}`;
  const expansion =
    claim.storageClass === null
      ? 'no storage class: cannot be expanded'
      : storageClass === null || !storageClass.ok
        ? `${escapeMrkdwn(claim.storageClass)} (whether it allows expansion is unknown: ${escapeMrkdwn(storageClass?.ok === false ? storageClass.reason : 'not read')})`
        : `${escapeMrkdwn(claim.storageClass)} · ${escapeMrkdwn(storageClass.storageClass.provisioner)} · ${storageClass.storageClass.allowVolumeExpansion ? `allows expansion (\`${escapeMrkdwn('storage expand <size>')}\`)` : ':no_entry: does not allow expansion'}`;
  const blocks: Block[] = [
    header(`Storage of ${where}`),
    ...sectionFields([
      `*Capacity*\n${escapeMrkdwn(claim.capacity ?? 'unknown')}`,
      `*Requested*\n${escapeMrkdwn(claim.requested ?? 'none')}${claim.requested !== claim.capacity ? ' (not all there yet)' : ''}`,
      `*Storage class*\n${expansion}`,
      `*Status*\n${escapeMrkdwn(claim.phase)} · ${escapeMrkdwn(claim.accessModes.join(', ') || 'no access modes')}${claim.volume ? ` · ${escapeMrkdwn(claim.volume)}` : ''}`,
    ]),
  ];
  for (const c of claim.conditions) {
    const restart = c.type === 'FileSystemResizePending' ? ' — the file system grows to the new size when the database pod restarts' : '';
    blocks.push(section(`:hourglass_flowing_sand: *${escapeMrkdwn(c.type)}*${c.message ? `: ${escapeMrkdwn(c.message)}` : ''}${restart}`));
  }
  if (data.ok) {
    const used = data.size.allDatabasesBytes + (data.size.walBytes ?? 0);
    const share = claim.capacityBytes ? ` — ${Math.round((used / claim.capacityBytes) * 100)}% of the ${formatBytes(claim.capacityBytes)} capacity` : '';
    const flag = claim.capacityBytes && used / claim.capacityBytes > 0.8 ? ':warning: ' : '';
    const parts = [
      `database ${escapeMrkdwn(data.size.database)} ${formatBytes(data.size.databaseBytes)}`,
      `all databases ${formatBytes(data.size.allDatabasesBytes)}`,
      data.size.walBytes === null ? 'WAL n/a' : `WAL ${formatBytes(data.size.walBytes)}`,
    ];
    blocks.push(section(`${flag}*On the volume:* ${parts.join(' · ')}${share}`));
  } else {
    blocks.push(context([`Database size n/a: ${escapeMrkdwn(data.reason)}`]));
  }
  blocks.push(measuredAt(result.measuredAt));
  return fitMessage({ text: `Storage of ${where}: capacity ${claim.capacity ?? 'unknown'}, requested ${claim.requested ?? 'none'}`, blocks });
}
