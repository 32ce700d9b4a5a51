// The Provisioning console: the rules list, a rule's details panel, Full Resync with live progress.
import { gql, getToken, setToken, subscribe, typedError } from './api.js';
import { AuditView } from './audit.js';
import * as Q from './queries.js';
import { mappingTesterSection } from './mapping_tester.js';
import { explainSection } from './explain.js';
import { retrySection } from './retry.js';
import {
  countsGrid, directionText, el, endpointText, formatDate, message, stackedBar, statusBadge, time,
} from './render.js';
import {
  heldSection, NOT_ALLOWED, notInSync, progressText, runsTable, writeBackSection,
} from './sections.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED']);
// How often the open rule is read again, so the panel follows it without "Refresh".
const LIVE_MS = Number(window.PROVISYNC_LIVE_MS) || 3000;
const state = {
  rules: [], selected: null, rule: null, run: null, runNote: '', stopFollow: null, loadSeq: 0, alert: null, viewer: null, audit: null,
};
const $ = (selector) => document.querySelector(selector);

// A sentence for an ApiError (or a typed error result), with the API's own message.
function describe(error) {
  if (error.code === 'UNAUTHENTICATED') {
    return getToken()
      ? 'The API refused the token you entered (unknown, revoked or expired): enter another above.'
      : 'Authentication is required: enter an API token above.';
  }
  if (error.code === 'FORBIDDEN') {
    const role = state.viewer && state.viewer.role ? ` (your role: ${state.viewer.role.toLowerCase()})` : '';
    return `Not allowed${role}: ${error.message}`;
  }
  return error.message;
}

function mayOperate() {
  return Boolean(state.viewer && state.viewer.mayOperate);
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

// `quiet`: a live refresh; the rows are drawn again only when something changed.
async function loadRules(quiet = false) {
  const tbody = $('#rules tbody');
  if (!quiet) tbody.parentElement.dataset.state = 'loading';
  try {
    const rules = [];
    let after = null;
    do {
      const data = await gql(Q.RULES, { after });
      rules.push(...data.rules.edges.map((edge) => edge.node));
      after = data.rules.pageInfo.hasNextPage ? data.rules.pageInfo.endCursor : null;
    } while (after && rules.length < 5000);
    const same = quiet && JSON.stringify(rules) === JSON.stringify(state.rules);
    state.rules = rules;
    clearBanner();
    if (!same) renderRules();
  } catch (error) {
    if (quiet) return;
    showBanner(error);
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'The rules could not be loaded.' })));
    $('#rule-count').textContent = '';  // no count beside "could not be loaded"
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

// `quiet`: a live refresh of the open rule, without the loading state or an error in its place.
async function openRule(id, quiet = false) {
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
  document.querySelector('main').classList.add('with-panel');
  panel.dataset.ruleId = id;
  if (!quiet) panel.dataset.state = 'loading';
  const seq = ++state.loadSeq;
  try {
    const data = await gql(Q.RULE, { id });
    if (seq !== state.loadSeq) return;
    if (!data.rule) {
      renderPanelProblem({ code: 'NOT_FOUND', message: `No such rule: ${id}. It may have been deleted, or the link is wrong.` }, 'No such rule');
      return;
    }
    state.rule = data.rule;
    if (quiet && panel.contains(document.activeElement) && document.activeElement.closest('form')) return;  // do not pull a field from under the typist
    renderDetails(data.rule);
    panel.dataset.state = 'ready';
    const active = data.rule.runs.edges.map((edge) => edge.node).find((run) => !FINAL.has(run.status));
    if (active && !state.stopFollow) follow(active);
  } catch (error) {
    if (seq !== state.loadSeq || quiet) return;
    // An id that is not a rule's id at all: the API says "Value cannot represent a GlobalID".
    if (/GlobalID/.test(error.message)) {
      renderPanelProblem({ code: 'NOT_FOUND', message: `No such rule: ${id}. The link names no rule.` }, 'No such rule');
    } else {
      renderPanelProblem(error);
    }
  }
}

function renderPanelProblem(error, title) {
  const panel = $('#details');
  panel.replaceChildren(
    el('header', { class: 'panel-head' }, el('h2', { text: 'Rule' }), closeButton()),
    message('error', title || `The rule could not be shown (${error.code})`, describe(error), 'panel-error'));
  panel.dataset.state = 'error';
  state.rule = null;
}

function closeButton() {
  return el('button', { type: 'button', class: 'close', 'aria-label': 'Close the details', text: '×', onclick: () => { window.location.hash = ''; } });
}

function fact(label, field, value) {
  return el('div', { class: 'fact' }, el('dt', { text: label }), el('dd', { 'data-field': field }, value));
}

function summarySection(rule, key, title) {
  const counts = rule.summary[key];
  const kind = key === 'users' ? 'USER' : 'GROUP';
  const toggle = el('button', {
    type: 'button', class: 'link', 'data-action': `audit-${key}`, 'data-kind': kind, text: 'Audit log',
    onclick: () => {
      const audit = state.audit;
      if (!audit) return;
      if (audit.open && audit.filters.kind === kind) audit.setOpen(false);
      else audit.show(kind);
    },
  });
  return el('section', { class: 'summary', 'data-summary': key },
    el('div', { class: 'section-head' }, el('h3', { text: title }), toggle),
    countsGrid(counts),
    stackedBar(counts, title));
}

// The summaries' buttons say "Hide" while the audit view shows their kind.
function syncAuditButtons(audit) {
  for (const button of document.querySelectorAll('#details button[data-kind]')) {
    button.textContent = audit.open && audit.filters.kind === button.dataset.kind ? 'Hide' : 'Audit log';
  }
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
    type: 'button', class: 'primary', 'data-action': 'resync', disabled: !rule.enabled || Boolean(state.stopFollow) || !mayOperate(),
    title: !mayOperate() ? NOT_ALLOWED : rule.enabled ? 'Resync every user and group of this rule' : 'Enable the rule to resync it',
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
      el('p', { class: 'muted', text: 'Enabling it starts a full resync at once.' }),
      el('button', {
        type: 'button', 'data-action': 'enable', text: 'Enable rule', disabled: !mayOperate(), title: mayOperate() ? null : NOT_ALLOWED, onclick: () => setEnabled(rule.id, true),
      })));
  } else {
    children.push(summarySection(rule, 'users', 'User Sync Summary'));
    // A users-only connector (Workday) syncs no groups: no empty group summary for it.
    const type = rule.connection && rule.connection.connectorType;
    const syncsGroups = !type || type.capabilities.includes('GROUPS') || rule.summary.groups.impacted > 0;
    if (syncsGroups) children.push(summarySection(rule, 'groups', 'Group Sync Summary'));
    if (rule.writeBackFailed.totalCount) children.push(writeBackSection(rule));
    children.push(notInSync(rule));
  }
  if (rule.heldOperations.totalCount) children.push(heldSection(rule, mayOperate(), resolveHeld));
  if (rule.retryQueue && rule.retryQueue.totalCount) children.push(retrySection(rule));
  children.push(explainSection(rule), mappingTesterSection(rule));
  if (!state.audit || state.audit.ruleId !== rule.id) state.audit = new AuditView(rule.id, describe, syncAuditButtons);
  children.push(el('section', { class: 'runs-section' }, el('h3', { text: 'Recent runs' }), runsTable(rule)), state.audit.element);
  panel.replaceChildren(...children);
  syncAuditButtons(state.audit);
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
    el('span', { class: 'run-title', 'data-testid': 'run-label', text: `${run.label || run.kind}:` }),
    el('span', { class: `outcome outcome-${run.status.toLowerCase()}`, 'data-testid': 'run-status', text: run.status }),
    bar,
    el('span', { class: 'num', 'data-testid': 'run-progress', text: progressText(run) }),
    // processed counts what the run examined; inScope what of it is the rule's to sync.
    run.progress.inScope !== undefined && run.progress.inScope !== null
      ? el('span', { class: 'muted', 'data-testid': 'run-in-scope', text: `examined · ${run.progress.inScope} in scope` }) : null,
    run.error ? el('span', { class: 'reason', 'data-testid': 'run-error', text: run.error }) : null,
    state.runNote ? el('span', { class: 'muted', text: state.runNote }) : null,
  ].filter(Boolean));
  const button = document.querySelector('#details button[data-action="resync"]');
  if (button) button.disabled = !FINAL.has(run.status) || !(state.rule && state.rule.enabled) || !mayOperate();
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
    state.rule = null;
    $('#details').hidden = true;
    document.querySelector('main').classList.remove('with-panel');
    for (const row of document.querySelectorAll('#rules tbody tr[aria-selected="true"]')) row.setAttribute('aria-selected', 'false');
  }
}

// Who the API says the caller is; buttons the role may not use are disabled.
async function loadViewer() {
  try {
    state.viewer = (await gql(Q.VIEWER)).viewer;
  } catch {
    state.viewer = null;
  }
  const who = $('#viewer');
  who.textContent = state.viewer ? `${state.viewer.name} · ${(state.viewer.role || 'no role').toLowerCase()}` : '';
  who.hidden = !state.viewer;
}

function setupToken() {
  const input = $('#token');
  input.value = getToken();
  $('#token-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    await loadViewer();
    loadRules();
    if (state.selected) openRule(state.selected);
  });
}

// Live: the open rule (and the list) are read again every few seconds while the page is seen.
function startLive() {
  setInterval(() => {
    if (document.visibilityState !== 'visible' || !state.selected || !state.rule) return;
    if ($('#details').dataset.state !== 'ready') return;
    openRule(state.selected, true);
    if (state.audit) state.audit.refresh();
    loadRules(true);
  }, LIVE_MS);
}

setupToken();
$('#refresh').addEventListener('click', () => { loadRules(); if (state.selected) openRule(state.selected); });
window.addEventListener('hashchange', route);
loadViewer().then(loadRules).then(route);
startLive();
