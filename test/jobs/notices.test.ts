/** Background jobs start before the Slack app listens: what they publish meanwhile is not lost. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createNotices, type Notice } from '../../src/jobs/notices.js';
import type { ApprovalRequest } from '../../src/state/approvals.js';

const expired = (id: string): Notice => ({ kind: 'approval-changed', request: { id } as ApprovalRequest });

describe('notices', () => {
  it('keeps what was published before anyone listened, and hands it to the first listener', async () => {
    const notices = createNotices(pino({ level: 'silent' }));
    await notices.publish(expired('apr_1'));
    const seen: string[] = [];
    notices.listen(async (notice) => {
      if (notice.kind === 'approval-changed') seen.push(notice.request.id);
    });
    await notices.publish(expired('apr_2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.sort()).toEqual(['apr_1', 'apr_2']);
  });

  it('a failing listener does not stop the others', async () => {
    const notices = createNotices(pino({ level: 'silent' }));
    const seen: string[] = [];
    notices.listen(async () => {
      throw new Error('Slack is down');
    });
    notices.listen(async (notice) => {
      if (notice.kind === 'approval-changed') seen.push(notice.request.id);
    });
    await notices.publish(expired('apr_3'));
    expect(seen).toEqual(['apr_3']);
  });
});
