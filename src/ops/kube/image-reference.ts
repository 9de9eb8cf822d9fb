/**
 * Container image references as the runtime reads them, and the PostgreSQL major version a tag
 * names (the data directory belongs to one major version: another needs pg_upgrade).
 *
 *   parseImageReference('postgres:15.4-security-update')
 *   // { repository: 'docker.io/library/postgres', tag: '15.4-security-update', digest: null, major: 15, version: '15.4' }
 *   parseImageReference('registry.local/postgres:15.8@sha256:…') // digest 'sha256:…', major 15
 *   digestOf('docker.io/library/postgres@sha256:ab12…')            // 'sha256:ab12…'
 */

export interface ImageReference {
  /** Normalized as the runtime reports it: `postgres` is docker.io/library/postgres. */
  repository: string;
  tag: string | null;
  digest: string | null;
  /** The leading version of the tag (`15.4` of `15.4-alpine`), null when the tag names none (`latest`, `alpine`). */
  version: string | null;
  major: number | null;
}

// The grammar of github.com/distribution/reference, a little simplified (no uppercase, no IPv6 hosts).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)';
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

export class ImageReferenceError extends Error {
  override name = 'ImageReferenceError';
}

export function parseImageReference(text: string): ImageReference {
  const match = REFERENCE.exec(text.trim());
  if (match === null) throw new ImageReferenceError(`"${text.slice(0, 120)}" is not an image reference (like postgres:15.8 or registry.example.com/postgres:15.8@sha256:…)`);
  const [, domainPart, path = '', tag, digest] = match;
  // A first component is a registry only when it looks like a host (a dot, a port, or localhost).
  const isHost = domainPart !== undefined && (domainPart.includes('.') || domainPart.includes(':') || domainPart === 'localhost');
  const fullPath = domainPart !== undefined && !isHost ? `${domainPart}/${path}` : path;
  const domain = isHost ? domainPart : 'docker.io';
  const repository = `${domain}/${domain === 'docker.io' && !fullPath.includes('/') ? `library/${fullPath}` : fullPath}`;
  const version = /^(\d+(?:\.\d+)*)(?:$|[-_.+])/.exec(tag ?? '')?.[1] ?? null;
  return { repository, tag: tag ?? null, digest: digest ?? null, version, major: version === null ? null : Number(version.split('.')[0]) };
}

/** `sha256:…` of an imageID (`docker.io/library/postgres@sha256:…`, `docker-pullable://…@sha256:…`, or a bare digest). */
export function digestOf(imageId: string | null | undefined): string | null {
  const match = /(sha256:[a-f0-9]{64})$/.exec(imageId ?? '');
  return match?.[1] ?? null;
}

/** The first 12 hex digits, as the digest reads in a chat line. */
export function shortDigest(digest: string | null): string {
  return digest === null ? 'no digest' : `${digest.slice(0, 19)}…`;
}
