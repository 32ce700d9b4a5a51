// The Provisioning console: the rules list, a rule's details panel, Full Resync with live progress.
import { gql, getToken, setToken, subscribe, typedError } from './api.js';
import * as Q from './queries.js';
import { mappingTesterSection } from './mapping_tester.js';
import { explainSection } from './explain.js';
import {
  auditTable, countsGrid, directionText, el, endpointText, entityItem, formatDate, message, stackedBar, statusBadge, time,
} from './render.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED']);
const state = { rules: [], selected: null, rule: null, run: null, runNote: '', stopFollow: null, loadSeq: 0, alert: null };
const $ = (selector) => document.querySelector(selector);

function describe(error) {
  if (error.code === 'UNAUTHENTICATED') return 'Authentication is required: enter an API token above.';
  if (error.code === 'FORBIDDEN') return 'The token is valid but not allowed to do this.';
  return error.message;
}

function showBanner(error) {
  const banner = $('#banner');
  banner.replaceChildren(message('error', `The API answered with an error (${error.code})`, describe(error), 'banner-error'));
  banner.hidden = false;
}

function clearBanner() {
  $('#banner').hidden = true;
  $('#banner').replaceChildren();
}

// rules list -------------------------------------------------------------------------------

async function loadRules() {
  const tbody = $('#rules tbody');
  tbody.parentElement.dataset.state = 'loading';
  try {
    const rules = [];
    let after = null;
    do {
      const data = await gql(Q.RULES, { after });
      rules.push(...data.rules.edges.map((edge) => edge.node));
      after = data.rules.pageInfo.hasNextPage ? data.rules.pageInfo.endCursor : null;
    } while (after && rules.length < 5000);
    state.rules = rules;
    clearBanner();
    renderRules();
  } catch (error) {
    showBanner(error);
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'The rules could not be loaded.' })));
    tbody.parentElement.dataset.state = 'error';
  }
}

function inSyncText(summary) {
  if (!summary) return '—';
  const { impacted, success, failed } = summary.users;
  return `${success} / ${impacted}${failed ? ` (${failed} failed)` : ''}`;
}

function renderRules() {
  const tbody = $('#rules tbody');
  $('#rule-count').textContent = `${state.rules.length} rule${state.rules.length === 1 ? '' : 's'}`;
  if (!state.rules.length) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No rules yet. Create one with the createRule mutation (GraphiQL at /graphql).' })));
  } else {
    tbody.replaceChildren(...state.rules.map((rule) => el('tr', {
      'data-rule-id': rule.id,
      tabindex: 0,
      'aria-selected': rule.id === state.selected ? 'true' : 'false',
      onclick: () => selectRule(rule.id),
      onkeydown: (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); selectRule(rule.id); } },
    },
    el('td', { 'data-col': 'name' }, el('a', { href: `#/rules/${encodeURIComponent(rule.id)}`, text: rule.name })),
    el('td', { 'data-col': 'status' }, statusBadge(rule.status)),
    el('td', { 'data-col': 'direction', text: directionText(rule.direction) }),
    el('td', { 'data-col': 'source', text: endpointText(rule.source) }),
    el('td', { 'data-col': 'target', text: endpointText(rule.target) }),
    el('td', { 'data-col': 'users', class: 'num', text: inSyncText(rule.summary) }))));
  }
  tbody.parentElement.dataset.state = 'ready';
}

function selectRule(id) {
  const hash = `#/rules/${encodeURIComponent(id)}`;
  if (window.location.hash === hash) openRule(id);
  else window.location.hash = hash;
}

// details panel ----------------------------------------------------------------------------

function stopFollowing() {
  if (state.stopFollow) state.stopFollow();
  state.stopFollow = null;
}

async function openRule(id) {
  const panel = $('#details');
  if (state.selected !== id) {
    stopFollowing();
    state.run = null;
    state.alert = null;
  }
  state.selected = id;
  for (const row of document.querySelectorAll('#rules tbody tr[data-rule-id]')) {
    row.setAttribute('aria-selected', row.dataset.ruleId === id ? 'true' : 'false');
  }
  panel.hidden = false;
  panel.dataset.ruleId = id;
  panel.dataset.state = 'loading';
  const seq = ++state.loadSeq;
  try {
    const data = await gql(Q.RULE, { id });
    if (seq !== state.loadSeq) return;
    if (!data.rule) {
      renderPanelProblem({ code: 'NOT_FOUND', message: `There is no rule with id ${id} (it may have been deleted).` });
      return;
    }
    state.rule = data.rule;
    renderDetails(data.rule);
    panel.dataset.state = 'ready';
    const active = data.rule.runs.edges.map((edge) => edge.node).find((run) => !FINAL.has(run.status));
    if (active && !state.stopFollow) follow(active);
  } catch (error) {
    if (seq === state.loadSeq) renderPanelProblem(error);
  }
}

function renderPanelProblem(error) {
  const panel = $('#details');
  panel.replaceChildren(
    el('header', { class: 'panel-head' }, el('h2', { text: 'Rule' }), closeButton()),
    message('error', `The rule could not be shown (${error.code})`, describe(error), 'panel-error'));
  panel.dataset.state = 'error';
}

function closeButton() {
  return el('button', { type: 'button', class: 'close', 'aria-label': 'Close the details', text: '×', onclick: () => { window.location.hash = ''; } });
}

function fact(label, field, value) {
  return el('div', { class: 'fact' }, el('dt', { text: label }), el('dd', { 'data-field': field }, value));
}

function summarySection(rule, key, title) {
  const counts = rule.summary[key];
  const audit = el('div', { class: 'kind-audit', hidden: true });
  const toggle = el('button', {
    type: 'button', class: 'link', 'data-action': `audit-${key}`, text: 'Audit log',
    onclick: async () => {
      if (!audit.hidden) { audit.hidden = true; return; }
      audit.hidden = false;
      audit.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
      try {
        const data = await gql(Q.kindAuditLog(key), { id: rule.id });
        const log = data.rule && data.rule.summary ? data.rule.summary[key].auditLog : null;
        audit.replaceChildren(log ? auditTable(log.edges) : message('info', 'The audit log is hidden while the rule is disabled.'));
      } catch (error) {
        audit.replaceChildren(message('error', `The audit log could not be loaded (${error.code})`, describe(error)));
      }
    },
  });
  return el('section', { class: 'summary', 'data-summary': key },
    el('div', { class: 'section-head' }, el('h3', { text: title }), toggle),
    countsGrid(counts),
    stackedBar(counts, title),
    audit);
}

function notInSync(rule) {
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

function runsTable(rule) {
  const runs = rule.runs.edges.map((edge) => edge.node);
  if (!runs.length) return el('p', { class: 'muted', text: 'No runs yet.' });
  return el('table', { class: 'runs' },
    el('thead', {}, el('tr', {}, ['Started', 'Kind', 'Status', 'Progress', 'By', 'Error'].map((h) => el('th', { text: h })))),
    el('tbody', {}, runs.map((run) => el('tr', { 'data-run-status': run.status },
      el('td', {}, time(run.startedAt)),
      el('td', { text: run.kind }),
      el('td', {}, el('span', { class: `outcome outcome-${run.status.toLowerCase()}`, text: run.status })),
      el('td', { class: 'num', text: progressText(run) }),
      el('td', { text: run.startedBy }),
      el('td', { class: 'msg-cell', text: run.error || '' })))));
}

function heldSection(rule) {
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
      el('button', { type: 'button', class: 'danger', 'data-action': 'release', text: 'Release (apply them)', onclick: () => resolveHeld(rule.id, true) }),
      el('button', { type: 'button', 'data-action': 'discard', text: 'Discard (leave the accounts)', onclick: () => resolveHeld(rule.id, false) })));
}

async function resolveHeld(ruleId, release) {
  setAlert(null, null);
  const field = release ? 'releaseHeldOperations' : 'discardHeldOperations';
  try {
    const data = await gql(release ? Q.RELEASE_HELD : Q.DISCARD_HELD, { id: ruleId });
    const problem = typedError(data[field], 'HeldOperationsPayload');
    if (problem) { setAlert(`The held operations could not be ${release ? 'released' : 'discarded'} (${problem.code})`, problem); return; }
    if (data[field].run) { follow(data[field].run); return; }
  } catch (error) {
    setAlert(`The held operations could not be ${release ? 'released' : 'discarded'} (${error.code})`, error);
    return;
  }
  await Promise.all([openRule(ruleId), loadRules()]);
}

function renderDetails(rule) {
  const panel = $('#details');
  const resync = el('button', {
    type: 'button', class: 'primary', 'data-action': 'resync', disabled: !rule.enabled || Boolean(state.stopFollow),
    title: rule.enabled ? 'Resync every user and group of this rule' : 'Enable the rule to resync it',
    text: 'Full Resync', onclick: () => fullResync(rule.id),
  });
  const children = [
    el('header', { class: 'panel-head' }, el('h2', { 'data-field': 'name', text: rule.name }), statusBadge(rule.status), el('span', { class: 'spacer' }), resync, closeButton()),
    el('div', { id: 'panel-alert' }),
    el('div', { id: 'run', 'data-testid': 'run', hidden: true }),
  ];
  if (rule.quarantine) {
    const q = rule.quarantine;
    children.push(message('error', `Quarantined after ${q.failedRuns} failed runs in a row`,
      `Since ${formatDate(q.since)}; next attempt ${formatDate(q.nextAttemptAt)}. ${q.reason || ''} `
      + 'Directory changes wait for the next successful run; a Full Resync retries now.', 'quarantine-message'));
  }
  if (rule.status === 'FAILED' && rule.lastRunError) {
    children.push(message('error', 'The last run failed as a whole', rule.lastRunError, 'last-run-error'));
  }
  children.push(el('dl', { class: 'facts' },
    fact('Sync Status', 'status', statusBadge(rule.status)),
    fact('Last Sync', 'lastSync', time(rule.lastSync)),
    fact('Sync Direction', 'direction', directionText(rule.direction)),
    fact('Source', 'source', endpointText(rule.source)),
    fact('Target', 'target', endpointText(rule.target)),
    rule.connection ? fact('Connector', 'connector', rule.connection.connectorTypeName) : null,
    rule.userFilter ? fact('User filter', 'userFilter', el('code', { text: rule.userFilter })) : null));
  if (!rule.summary) {
    children.push(el('div', { class: 'message message-info', role: 'status', 'data-testid': 'disabled-message' },
      el('strong', { text: 'This rule is disabled.' }),
      el('p', { text: 'Its sync summary is hidden while the rule is disabled: enable it to sync and see how its users and groups are doing.' }),
      el('button', { type: 'button', 'data-action': 'enable', text: 'Enable rule', onclick: () => setEnabled(rule.id, true) })));
  } else {
    children.push(summarySection(rule, 'users', 'User Sync Summary'), summarySection(rule, 'groups', 'Group Sync Summary'), notInSync(rule));
  }
  if (rule.heldOperations.totalCount) children.push(heldSection(rule));
  children.push(explainSection(rule), mappingTesterSection(rule));
  children.push(
    el('section', { class: 'runs-section' }, el('h3', { text: 'Recent runs' }), runsTable(rule)),
    el('section', { class: 'activity' }, el('h3', { text: `Audit log (${rule.auditLog.totalCount})` }), auditTable(rule.auditLog.edges)));
  panel.replaceChildren(...children);
  renderAlert();
  renderRun();
}

function renderAlert() {
  const box = $('#panel-alert');
  if (!box) return;
  box.replaceChildren(state.alert ? message('error', state.alert.title, describe(state.alert.error), 'panel-error') : '');
}

function setAlert(title, error) {
  state.alert = error ? { title, error } : null;
  renderAlert();
}

// runs -------------------------------------------------------------------------------------

function progressText(run) {
  const { processed, total } = run.progress;
  return total === null || total === undefined ? `${processed} processed` : `${processed} / ${total}`;
}

function renderRun() {
  const box = $('#run');
  const run = state.run;
  if (!box) return;
  if (!run) { box.hidden = true; return; }
  const { processed, total } = run.progress;
  const bar = el('progress', { max: total || 1, 'aria-label': 'run progress' });
  if (total !== null && total !== undefined) bar.value = Math.min(processed, total || 1);
  box.hidden = false;
  box.dataset.runStatus = run.status;
  box.className = `run run-${run.status.toLowerCase()}`;
  // Native replaceChildren would print a null child as "null": drop the absent parts.
  box.replaceChildren(...[
    el('span', { class: 'run-title', text: `${run.kind === 'FULL' ? 'Full resync' : `${run.kind.toLowerCase()} run`}:` }),
    el('span', { class: `outcome outcome-${run.status.toLowerCase()}`, 'data-testid': 'run-status', text: run.status }),
    bar,
    el('span', { class: 'num', 'data-testid': 'run-progress', text: progressText(run) }),
    run.error ? el('span', { class: 'reason', 'data-testid': 'run-error', text: run.error }) : null,
    state.runNote ? el('span', { class: 'muted', text: state.runNote }) : null,
  ].filter(Boolean));
  const button = document.querySelector('#details button[data-action="resync"]');
  if (button) button.disabled = !FINAL.has(run.status) || !(state.rule && state.rule.enabled);
}

function follow(run) {
  stopFollowing();
  state.run = run;
  state.runNote = '';
  const ruleId = state.selected;
  renderRun();
  if (FINAL.has(run.status)) { finished(ruleId); return; }
  state.stopFollow = subscribe(Q.RUN_PROGRESS, { id: run.id }, {
    next: (data) => { state.run = data.syncRunProgress; renderRun(); },
    complete: () => { state.stopFollow = null; finished(ruleId); },
    error: () => {
      state.stopFollow = null;
      if (FINAL.has(state.run.status)) finished(ruleId);
      else poll(run.id, ruleId);
    },
  });
}

// Without a WebSocket (a proxy that drops it), follow the run by query instead.
async function poll(runId, ruleId) {
  state.runNote = 'live updates unavailable: polling';
  let stopped = false;
  state.stopFollow = () => { stopped = true; };
  while (!stopped) {
    try {
      const data = await gql(Q.RUN_NODE, { id: runId });
      if (data.node && data.node.progress) { state.run = data.node; renderRun(); }
      if (!data.node || FINAL.has(data.node.status)) break;
    } catch (error) {
      setAlert('Following the run failed', error);
      break;
    }
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
  }
  if (!stopped) { state.stopFollow = null; finished(ruleId); }
}

function finished(ruleId) {
  renderRun();
  if (state.selected === ruleId) openRule(ruleId);
  loadRules();
}

async function fullResync(ruleId) {
  const button = document.querySelector('#details button[data-action="resync"]');
  if (button) button.disabled = true;
  setAlert(null, null);
  try {
    const data = await gql(Q.FULL_RESYNC, { id: ruleId });
    const problem = typedError(data.fullResync, 'SyncRun');
    if (problem) {
      setAlert(`Full resync refused (${problem.code})`, problem);
      if (button) button.disabled = false;
      return;
    }
    follow(data.fullResync);
  } catch (error) {
    setAlert(`Full resync failed (${error.code})`, error);
    if (button) button.disabled = false;
  }
}

async function setEnabled(ruleId, enabled) {
  setAlert(null, null);
  try {
    const data = await gql(Q.SET_ENABLED, { id: ruleId, enabled });
    const problem = typedError(data.setRuleEnabled, 'Rule');
    if (problem) { setAlert(`The rule could not be ${enabled ? 'enabled' : 'disabled'} (${problem.code})`, problem); return; }
  } catch (error) {
    setAlert(`The rule could not be ${enabled ? 'enabled' : 'disabled'} (${error.code})`, error);
    return;
  }
  await Promise.all([openRule(ruleId), loadRules()]);
}

// page -------------------------------------------------------------------------------------

function route() {
  const match = window.location.hash.match(/^#\/rules\/(.+)$/);
  if (match) {
    openRule(decodeURIComponent(match[1]));
  } else {
    stopFollowing();
    state.selected = null;
    state.run = null;
    $('#details').hidden = true;
    for (const row of document.querySelectorAll('#rules tbody tr[aria-selected="true"]')) row.setAttribute('aria-selected', 'false');
  }
}

function setupToken() {
  const input = $('#token');
  input.value = getToken();
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    loadRules();
    if (state.selected) openRule(state.selected);
  });
}

setupToken();
$('#refresh').addEventListener('click', () => { loadRules(); if (state.selected) openRule(state.selected); });
window.addEventListener('hashchange', route);
loadRules().then(route);
