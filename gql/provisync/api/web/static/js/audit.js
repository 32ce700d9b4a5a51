// The rule's one audit view: filters (outcome, operation, kind, text), cursor paging, Hide/Show.
// The summaries' "Audit log" buttons open this same view filtered to their kind.
import { gql } from './api.js';
import * as Q from './queries.js';
import { auditTable, el, message } from './render.js';

const OUTCOMES = ['SUCCESS', 'FAILED', 'PARTIAL', 'UNSYNCED'];
const OPERATIONS = ['CREATE', 'UPDATE', 'DISABLE', 'DELETE', 'WRITE_BACK', 'CHECK', 'FULL_RESYNC', 'ENABLE_RULE', 'DISABLE_RULE', 'CREATE_RULE', 'UPDATE_RULE',
  'RETRY_SCHEDULED', 'RETRY_SETTLED', 'RUN_INTERRUPTED'];
const PAGE = 25;

function select(name, label, options, value) {
  return el('label', { class: 'filter' }, el('span', { class: 'sr-only', text: label }),
    el('select', { name, 'aria-label': label },
      options.map(([v, text]) => el('option', { value: v, text, selected: v === value }))));
}

/** One audit view per open rule; `describe` turns an ApiError into a sentence. */
export class AuditView {
  constructor(ruleId, describe, onToggle) {
    this.ruleId = ruleId;
    this.describe = describe;
    this.onToggle = onToggle || (() => {});
    this.filters = { outcome: '', operation: '', kind: '', search: '' };
    this.open = true;
    this.edges = [];
    this.total = 0;
    this.cursor = null;
    this.hasNext = false;
    this.seq = 0;
    this.element = this.build();
    this.load();
  }

  build() {
    this.title = el('h3', { text: 'Audit log' });
    this.toggle = el('button', { type: 'button', class: 'link', 'data-action': 'audit-toggle', text: 'Hide', onclick: () => this.setOpen(!this.open) });
    const f = this.filters;
    this.form = el('form', { class: 'audit-filters', 'data-testid': 'audit-filters', onsubmit: (event) => event.preventDefault() },
      select('outcome', 'Outcome', [['', 'Any outcome'], ...OUTCOMES.map((o) => [o, o])], f.outcome),
      select('operation', 'Operation', [['', 'Any operation'], ...OPERATIONS.map((o) => [o, o])], f.operation),
      select('kind', 'Entity kind', [['', 'Users and groups'], ['USER', 'Users'], ['GROUP', 'Groups']], f.kind),
      el('input', { type: 'search', name: 'search', placeholder: 'Search name, message…', 'aria-label': 'Search the audit log' }));
    this.form.addEventListener('change', () => this.readForm());
    let timer = null;
    this.form.search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => this.readForm(), 250); });
    this.body = el('div', { class: 'audit-body table-wrap' });
    this.more = el('button', { type: 'button', 'data-action': 'audit-more', text: 'Load more', hidden: true, onclick: () => this.load(true) });
    this.content = el('div', { class: 'audit-content' }, this.form, this.body, this.more);
    return el('section', { class: 'activity', 'data-testid': 'audit', 'data-open': 'true' },
      el('div', { class: 'section-head' }, this.title, this.toggle), this.content);
  }

  readForm() {
    const form = this.form;
    this.filters = { outcome: form.outcome.value, operation: form.operation.value, kind: form.kind.value, search: form.search.value.trim() };
    this.load();
    this.onToggle(this);
  }

  /** Open (or close) the view; `kind` ('USER', 'GROUP') filters it to one kind. */
  show(kind) {
    if (kind !== undefined && this.filters.kind !== kind) {
      this.filters.kind = kind;
      this.form.kind.value = kind;
      this.load();
    }
    this.setOpen(true);
    this.element.scrollIntoView({ block: 'nearest' });
  }

  setOpen(open) {
    this.open = open;
    this.content.hidden = !open;
    this.element.dataset.open = String(open);
    this.toggle.textContent = open ? 'Hide' : 'Show';
    this.onToggle(this);
  }

  /** Load the first page again (live refresh), unless more pages were loaded by hand. */
  refresh() {
    if (this.edges.length <= PAGE) this.load();
  }

  async load(more = false) {
    const seq = ++this.seq;
    const f = this.filters;
    const variables = {
      id: this.ruleId, first: PAGE, after: more ? this.cursor : null,
      outcome: f.outcome || null, operation: f.operation || null, kind: f.kind || null, search: f.search || null,
    };
    this.element.dataset.state = 'loading';
    try {
      const data = await gql(Q.AUDIT_LOG, variables);
      if (seq !== this.seq) return;
      const log = data.rule ? data.rule.auditLog : null;
      if (!log) { this.body.replaceChildren(message('info', 'There is no such rule any more.')); return; }
      this.edges = more ? [...this.edges, ...log.edges] : log.edges;
      this.total = log.totalCount;
      this.cursor = log.pageInfo.endCursor;
      this.hasNext = log.pageInfo.hasNextPage;
      this.render();
    } catch (error) {
      if (seq === this.seq) this.body.replaceChildren(message('error', `The audit log could not be loaded (${error.code})`, this.describe(error)));
    } finally {
      if (seq === this.seq) this.element.dataset.state = 'ready';
    }
  }

  render() {
    const filtered = Object.values(this.filters).some(Boolean);
    this.title.textContent = `Audit log (${this.edges.length < this.total ? `${this.edges.length} of ` : ''}${this.total}${filtered ? ' matching' : ''})`;
    this.body.replaceChildren(this.edges.length ? auditTable(this.edges) : el('p', { class: 'muted', text: filtered ? 'No audit event matches these filters.' : 'No audit events yet.' }));
    this.more.hidden = !this.hasNext;
  }
}
