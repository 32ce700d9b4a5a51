// DOM building blocks. Text always goes in through textContent: nothing from the API is HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Dates in the reader's locale and time zone, with the zone named ("14:03:07 UTC").
const DATE_FORMAT = {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
};

export function formatDate(iso) {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(undefined, DATE_FORMAT);
}

export function time(iso) {
  return el('time', { datetime: iso || null, title: iso || null, text: formatDate(iso) });
}

const STATUS_TEXT = { ACTIVE: 'Active', INACTIVE: 'Inactive', FAILED: 'Failed' };

export function statusBadge(status) {
  return el('span', { class: `badge badge-${String(status).toLowerCase()}`, 'data-status': status, text: STATUS_TEXT[status] || status });
}

export function directionText(direction) {
  return direction === 'INBOUND' ? 'Inbound' : direction === 'OUTBOUND' ? 'Outbound' : String(direction);
}

export function endpointText(endpoint) {
  if (!endpoint) return '(unknown)';
  return endpoint.kind === 'DIRECTORY' ? `${endpoint.name} (directory)` : endpoint.name;
}

// The four states of an impacted entity, in the order the bar shows them.
export const SEGMENTS = [
  ['success', 'Success'],
  ['partialSynced', 'Partial Synced'],
  ['unsynced', 'Unsynced'],
  ['failed', 'Failed'],
];

export function stackedBar(counts, label) {
  const total = counts.impacted || 0;
  const bar = el('div', { class: 'stacked-bar', role: 'img', 'aria-label': `${label}: ${SEGMENTS.map(([k, t]) => `${counts[k]} ${t.toLowerCase()}`).join(', ')}` });
  if (!total) {
    bar.append(el('div', { class: 'segment segment-empty', style: 'width:100%', text: 'nothing in scope' }));
    return bar;
  }
  for (const [key, text] of SEGMENTS) {
    const value = counts[key] || 0;
    if (!value) continue;
    bar.append(el('div', {
      class: `segment segment-${key}`,
      style: `width:${(100 * value) / total}%`,
      title: `${text}: ${value}`,
      'data-segment': key,
    }));
  }
  return bar;
}

export function countsGrid(counts) {
  const items = [['impacted', 'Impacted'], ...SEGMENTS];
  if (counts.writeBackFailures !== null && counts.writeBackFailures !== undefined) items.push(['writeBackFailures', 'Write-back Failures']);
  return el('dl', { class: 'counts' }, items.map(([key, text]) => el('div', { class: `count count-${key}${counts[key] ? ' nonzero' : ''}` },
    el('dt', {}, key in SEGMENT_KEYS ? el('span', { class: `swatch segment-${key}` }) : null, text),
    el('dd', { 'data-count': key, text: counts[key] }))));
}
const SEGMENT_KEYS = Object.fromEntries(SEGMENTS);

export function auditTable(edges) {
  if (!edges.length) return el('p', { class: 'muted', text: 'No audit events yet.' });
  return el('table', { class: 'audit' },
    el('thead', {}, el('tr', {}, ['When', 'Operation', 'Entity', 'Outcome', 'Message', 'By'].map((h) => el('th', { text: h })))),
    el('tbody', {}, edges.map(({ node }) => el('tr', { 'data-outcome': node.outcome },
      el('td', {}, time(node.createdAt)),
      el('td', { text: node.operation }),
      el('td', { text: node.entityName || node.entityKind || '—' }),
      el('td', {}, el('span', { class: `outcome outcome-${String(node.outcome).toLowerCase()}`, text: node.outcome })),
      el('td', { class: 'msg-cell', text: node.message || '' }),
      el('td', { text: node.actor }),
    ))));
}

export function differencesTable(differences) {
  if (!differences.length) return null;
  return el('table', { class: 'differences' },
    el('thead', {}, el('tr', {}, ['Attribute', 'Source', 'Target'].map((h) => el('th', { text: h })))),
    el('tbody', {}, differences.map((d) => el('tr', {},
      el('td', { text: d.attribute }),
      el('td', { text: d.sourceValue ?? '(none)' }),
      el('td', { text: d.targetValue ?? '(none)' })))));
}

export function entityItem(node) {
  return el('li', { class: `entity entity-${node.state.toLowerCase()}`, 'data-state': node.state, 'data-entity': node.entityKey },
    el('div', { class: 'entity-head' },
      el('span', { class: `outcome outcome-${node.state.toLowerCase()}`, text: node.state }),
      el('strong', { text: node.displayName || node.entityKey }),
      el('span', { class: 'muted', text: `${node.kind === 'USER' ? 'user' : 'group'} · last action ${node.lastAction.toLowerCase()} · ` }, time(node.updatedAt))),
    node.reason ? el('p', { class: 'reason', 'data-testid': 'reason', text: node.reason }) : null,
    differencesTable(node.differences || []),
    node.writeBack && !node.writeBack.ok ? el('p', { class: 'reason', text: `Write-back failed: ${node.writeBack.reason || 'no reason given'}` }) : null);
}

export function message(kind, title, text, testid) {
  return el('div', { class: `message message-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': testid },
    el('strong', { text: title }), text ? el('p', { text }) : null);
}

/** Users whose last write-back failed: who, what was written back, and what the source said. */
export function writeBackList(connection) {
  return el('ul', { class: 'entities' }, connection.edges.map(({ node }) => {
    const written = (node.writeBack && node.writeBack.attributes) || [];
    return el('li', { class: 'entity entity-failed', 'data-entity': node.entityKey, 'data-testid': 'write-back-failure' },
      el('div', { class: 'entity-head' },
        el('span', { class: 'outcome outcome-failed', text: 'WRITE-BACK FAILED' }),
        el('strong', { text: node.displayName || node.entityKey }),
        el('span', { class: 'muted' }, 'at ', time(node.writeBack && node.writeBack.at))),
      written.length ? el('p', { class: 'written', 'data-testid': 'written' }, 'Wrote back: ',
        written.map((w, i) => [i ? ', ' : '', el('code', { text: `${w.attribute} = ${w.value ?? '(none)'}` })])) : null,
      el('p', { class: 'reason', 'data-testid': 'reason', text: (node.writeBack && node.writeBack.reason) || 'no reason given' }));
  }));
}
