/**
 * GETs a Prometheus /metrics endpoint and returns its text, bounded in time and in size, failing
 * with a sentence an operator can act on. The URL is never part of a message: it may carry a password.
 *
 *   const text = await fetchMetricsText('http://recipe-database-service:9187/metrics', 2000);
 */
import { formatDuration } from '../../duration.js';
import { failure, networkProblem } from '../failure.js';

// A real exporter answers in the hundreds of kilobytes; far more means the URL points elsewhere.
const MAX_BYTES = 16 * 1024 * 1024;

export async function fetchMetricsText(url: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const target = new URL(url);
  const headers: Record<string, string> = { accept: 'text/plain;version=0.0.4;q=1, */*;q=0.1' };
  // fetch refuses URLs with credentials in them; basic auth is what they mean.
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  const abort = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
  try {
    const response = await fetch(target, { headers, signal: abort, redirect: 'follow' });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the exporter answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    return await readBounded(response);
  } catch (error) {
    if (deadline.aborted) throw failure(`the exporter did not answer within ${formatDuration(timeoutMs)}`, error);
    const network = networkProblem(error);
    if (network === 'connection refused') throw failure('the exporter refused the connection (is it running?)', error);
    if (network !== undefined) throw failure(`the exporter could not be reached (${network})`, error);
    const cause = (error as { cause?: { message?: unknown } }).cause;
    // fetch's own refusals (a port on the Fetch standard's blocked list, a bad redirect) say why only in the cause.
    if (typeof cause?.message === 'string') throw failure(`the exporter could not be reached (${cause.message})`, error);
    throw error;
  }
}

async function readBounded(response: Response): Promise<string> {
  if (response.body === null) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    // Leaving the loop cancels the stream, so the rest is never downloaded.
    if (bytes > MAX_BYTES) break;
    text += decoder.decode(chunk, { stream: true });
  }
  if (bytes > MAX_BYTES) {
    throw new Error(`the exporter's answer is over ${MAX_BYTES / 1024 / 1024} MiB: is EXPORTER_URL a postgres_exporter /metrics URL?`);
  }
  return text + decoder.decode();
}
