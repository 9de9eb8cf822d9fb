/** The Cancel button of a running maintenance operation, on its progress message or its approval request. */
import { button, type ButtonElement } from '../blocks.js';
import { CANCEL_MAINTENANCE_ACTION } from '../slack-surface.js';

export function cancelButton(runId: string): ButtonElement {
  return button({
    text: 'Cancel',
    actionId: CANCEL_MAINTENANCE_ACTION,
    value: runId,
    style: 'danger',
    confirm: {
      title: 'Cancel this maintenance?',
      text: 'The running statement is cancelled (it changes nothing) and no further one starts. An index build it leaves invalid is dropped.',
      confirm: 'Cancel it',
      deny: 'Let it run',
    },
  });
}
