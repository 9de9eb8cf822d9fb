/**
 * WAL positions and file names as PostgreSQL and pgBackRest write them: an LSN `0/5000028`, a WAL
 * segment `000000010000000000000005` (8 hex digits of timeline, then the segment), a history file
 * `00000002.history`.
 *
 *   parseLsn('0/5000028')                     // 83886120n
 *   walTimeline('000000020000000000000007')   // 2
 *   segmentsBetween('000000010000000000000005', '000000020000000000000009') // 5 (both ends included)
 */

/** PostgreSQL's default segment size; the Recipe Database uses it (initdb --wal-segsize is not set). */
export const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
const SEGMENTS_PER_XLOGID = 0x1_0000_0000 / WAL_SEGMENT_BYTES;

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;
const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/i;

export function isLsn(text: string): boolean {
  return LSN.test(text);
}

export function parseLsn(text: string): bigint {
  const match = LSN.exec(text);
  if (!match) throw new Error(`"${text}" is not a WAL position (LSN)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

export function isWalSegment(name: string): boolean {
  return SEGMENT.test(name);
}

export function walTimeline(segment: string): number {
  const match = SEGMENT.exec(segment);
  if (!match) throw new Error(`"${segment}" is not a WAL segment name`);
  return Number.parseInt(match[1] as string, 16);
}

/** The segment's number along the WAL, which continues across timelines. */
export function walSegmentNumber(segment: string): number {
  const match = SEGMENT.exec(segment);
  if (!match) throw new Error(`"${segment}" is not a WAL segment name`);
  return Number.parseInt(match[2] as string, 16) * SEGMENTS_PER_XLOGID + Number.parseInt(match[3] as string, 16);
}

/** How many segments from `first` to `last`, both included (0 when `last` is before `first`). */
export function segmentsBetween(first: string, last: string): number {
  return Math.max(0, walSegmentNumber(last) - walSegmentNumber(first) + 1);
}

export function historyFileName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
}
