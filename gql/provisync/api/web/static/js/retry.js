// The rule panel's "Retry queue": entities whose push or write-back failed, and when each is
// tried next (the engine retries them with growing backoff until one attempt succeeds).
import { el, time } from './render.js';

const OPERATION = { PUSH: 'Push to the target', WRITE_BACK: 'Write-back to the source' };

export function retrySection(rule) {
  const queue = rule.retryQueue;
  return el('section', { class: 'retry-queue', 'data-testid': 'retry-queue' },
    el('h3', { text: `Retry queue (${queue.totalCount})` }),
    el('p', { class: 'muted', text: 'These changes could not be applied. They are tried again automatically, each time a little later; a Full Resync tries them all now.' }),
    // Wrapped like the runs and the audit log: on a phone the table scrolls, not the page.
    el('div', { class: 'table-wrap' }, el('table', { class: 'runs' },
      el('thead', {}, el('tr', {}, ['Entity', 'Kind', 'What failed', 'Attempts', 'Next attempt', 'Last error'].map((h) => el('th', { text: h })))),
      el('tbody', {}, queue.edges.map(({ node }) => el('tr', { 'data-retry-id': node.id },
        el('td', { text: node.displayName }), el('td', { text: node.kind }),
        el('td', { text: OPERATION[node.operation] || node.operation }),
        el('td', { class: 'num', 'data-field': 'attempts', text: String(node.attempts) }),
        el('td', {}, time(node.nextAttemptAt)),
        el('td', { class: 'msg-cell', text: node.lastError || '' })))))));
}
