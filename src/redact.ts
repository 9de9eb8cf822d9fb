/**
 * One scrubber for every string that leaves the process (log lines, Slack messages, error texts).
 * pino's `redact` covers structured fields; this covers secrets embedded in free text, such as a
 * password inside a connection URL quoted in a `pg` error.
 *
 *   const scrub = createScrubber(['s3cret']);
 *   scrub('postgres://bot:s3cret@db/x') // 'postgres://bot:[REDACTED]@db/x'
 */
export const REDACTED = '[REDACTED]';

const PATTERNS: [RegExp, string][] = [
  // user:password@ in any URL (postgres://, http://, …)
  [/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"']+:)([^@\s"']+)(@)/gi, `$1${REDACTED}$3`],
  // Slack tokens: bot, user, app-level, configuration, refresh
  [/\bx(?:ox[abposer]|app)-[A-Za-z0-9-]{6,}/g, REDACTED],
  // libpq key/value connection strings
  [/(\bpassword\s*=\s*)('[^']*'|[^\s'"]+)/gi, `$1${REDACTED}`],
];

export type Scrubber = (text: string) => string;

export function createScrubber(secrets: readonly string[]): Scrubber {
  // Longest first, so that a secret containing another is replaced whole.
  const literals = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  const forms = literals.flatMap((s) => {
    const asJson = JSON.stringify(s).slice(1, -1);
    const asUri = encodeURIComponent(s);
    return [...new Set([s, asJson, asUri])];
  });
  return (text: string): string => {
    let out = text;
    for (const form of forms) out = out.split(form).join(REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** The password part of a connection URL, if any (so it can be scrubbed even where no pattern matches). */
export function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
