// The rule panel's sections that only draw what the API returned (no state, no requests).
import {
  el, entityItem, time, writeBackList,
} from './render.js';

export const NOT_ALLOWED = 'Your role may not do this: an operator or admin token can.';

export function progressText(run) {
  const { processed, total } = run.progress;
  return total === null || total === undefined ? `${processed} processed` : `${processed} / ${total}`;
}

export function writeBackSection(rule) {
  const failures = rule.writeBackFailed;
  return el('section', { class: 'write-back', 'data-testid': 'write-back-failures' },
    el('h3', { text: `Write-back failures (${failures.totalCount})` }),
    el('p', { class: 'muted', text: 'Directory changes the source system refused. The users stay in sync otherwise; the next change or a Full Resync writes back again.' }),
    writeBackList(failures),
    failures.edges.length < failures.totalCount ? el('p', { class: 'muted', text: `First ${failures.edges.length} shown.` }) : null);
}

export function notInSync(rule) {
  const groups = [['failed', 'Failed'], ['partial', 'Partial Synced'], ['unsynced', 'Unsynced']];
  const total = groups.reduce((sum, [key]) => sum + rule[key].totalCount, 0);
  const section = el('section', { class: 'not-in-sync', 'data-testid': 'not-in-sync' }, el('h3', { text: `Not in sync (${total})` }));
  if (!total) {
    section.append(el('p', { class: 'muted', text: 'Every impacted user and group is in sync.' }));
    return section;
  }
  for (const [key, title] of groups) {
    const connection = rule[key];
    if (!connection.totalCount) continue;
    const shown = connection.edges.length;
    section.append(el('details', { open: key !== 'unsynced' || total < 20, 'data-group': key },
      el('summary', { text: `${title}: ${connection.totalCount}${shown < connection.totalCount ? ` (first ${shown} shown)` : ''}` }),
      el('ul', { class: 'entities' }, connection.edges.map((edge) => entityItem(edge.node)))));
  }
  return section;
}

export function runsTable(rule) {
  const runs = rule.runs.edges.map((edge) => edge.node);
  if (!runs.length) return el('p', { class: 'muted', text: 'No runs yet.' });
  return el('div', { class: 'table-wrap' }, el('table', { class: 'runs' },
    el('thead', {}, el('tr', {}, ['Started', 'Run', 'Status', 'Progress', 'By', 'Error'].map((h) => el('th', { text: h })))),
    el('tbody', {}, runs.map((run) => el('tr', { 'data-run-status': run.status },
      el('td', {}, time(run.startedAt)),
      el('td', { text: run.label || run.kind }),
      el('td', {}, el('span', { class: `outcome outcome-${run.status.toLowerCase()}`, text: run.status })),
      el('td', { class: 'num', text: progressText(run) }),
      el('td', { text: run.startedBy }),
      el('td', { class: 'msg-cell', text: run.error || '' }))))));
}

export function heldSection(rule, allowed, onResolve) {
  const held = rule.heldOperations;
  const limit = rule.deletionProtection;
  const limits = [limit.maxCount !== null ? `${limit.maxCount}` : null, limit.maxPercent !== null ? `${limit.maxPercent}%` : null]
    .filter(Boolean).join(' or ');
  return el('section', { class: 'held', 'data-testid': 'held-operations' },
    el('h3', { text: `Held by deletion protection (${held.totalCount})` }),
    el('p', { class: 'muted', text: `A run would have disabled or deleted more than the rule's limit (${limits || 'none'}). Nothing below was done yet.` }),
    el('table', { class: 'runs' },
      el('thead', {}, el('tr', {}, ['Entity', 'Kind', 'Held action', 'Held at'].map((h) => el('th', { text: h })))),
      el('tbody', {}, held.edges.map(({ node }) => el('tr', {},
        el('td', { text: node.displayName }), el('td', { text: node.kind }),
        el('td', { text: node.action }), el('td', {}, time(node.heldAt)))))),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', 'data-action': 'release', text: 'Release (apply them)', disabled: !allowed, title: allowed ? null : NOT_ALLOWED, onclick: () => onResolve(rule.id, true) }),
      el('button', { type: 'button', 'data-action': 'discard', text: 'Discard (leave the accounts)', disabled: !allowed, title: allowed ? null : NOT_ALLOWED, onclick: () => onResolve(rule.id, false) })));
}
