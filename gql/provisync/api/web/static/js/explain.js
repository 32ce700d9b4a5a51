// The rule panel's "Why?" form: explainEntity for one user or group, read-only.
import { gql } from './api.js';
import { el, message } from './render.js';

export const EXPLAIN = `query ConsoleExplain($rule: ID!, $user: ID, $group: ID) {
  explainEntity(ruleId: $rule, userId: $user, groupId: $group) {
    __typename
    ... on EntityExplanation {
      kind displayName action why notes
      scope { filter inScope clauses { clause value result } }
      mapping { target value error }
      match { attempts { attribute value } targetId }
      comparison { attribute sourceValue targetValue }
      lastRun { state reason trail }
    }
    ... on Error { message code }
  }
}`;

function globalId(type, text) {
  return /^\d+$/.test(text) ? btoa(`${type}:${text}`) : text;
}

function shown(value) {
  if (value === null || value === undefined) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function rows(items, cells) {
  return el('tbody', {}, items.map((item) => el('tr', {}, cells(item).map((text) => el('td', { text })))));
}

function render(found) {
  const parts = [
    el('p', { 'data-testid': 'explain-action' }, el('strong', { text: found.action }), ` — ${found.why}`),
  ];
  const scope = found.scope;
  parts.push(el('p', { text: scope.filter ? `Scope: ${scope.filter} → ${scope.inScope ? 'in scope' : 'out of scope'}` : `Scope: every user → ${scope.inScope ? 'in scope' : 'out of scope'}` }));
  if (scope.clauses.length) {
    parts.push(el('table', { class: 'explain-table', 'data-testid': 'explain-scope' },
      rows(scope.clauses, (c) => [c.clause, shown(c.value), c.result ? 'true' : 'false'])));
  }
  if (found.match.attempts.length) {
    parts.push(el('p', { text: `Matched on ${found.match.attempts.map((a) => `${a.attribute} = ${shown(a.value)}`).join(', ')}: ${found.match.targetId ? `account ${found.match.targetId}` : 'no account at the target'}` }));
  }
  if (found.comparison.length) {
    parts.push(el('table', { class: 'explain-table', 'data-testid': 'explain-comparison' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Attribute' }), el('th', { text: 'Desired' }), el('th', { text: 'At the target' }))),
      rows(found.comparison, (d) => [d.attribute, shown(d.sourceValue), shown(d.targetValue)])));
  }
  if (found.mapping.length) {
    parts.push(el('details', {}, el('summary', { text: 'Mapped values' }),
      el('table', { class: 'explain-table' }, rows(found.mapping, (m) => [m.target, m.error ? `error: ${m.error}` : shown(m.value)]))));
  }
  if (found.lastRun) {
    parts.push(el('p', { 'data-testid': 'explain-last-run', text: `Last run: ${found.lastRun.state}${found.lastRun.reason ? ` — ${found.lastRun.reason}` : ''}` }));
    if (found.lastRun.trail.length) parts.push(el('ol', { class: 'trail' }, found.lastRun.trail.map((t) => el('li', { text: t }))));
  }
  for (const note of found.notes) parts.push(el('p', { class: 'muted', text: note }));
  return parts;
}

/** The form, for the rule shown in the panel. */
export function explainSection(rule) {
  const output = el('div', { 'data-testid': 'explain-output' });
  const form = el('form', { class: 'mapping-tester', 'data-testid': 'explain-form' },
    el('label', {}, 'User or group (id or directory key) ', el('input', { name: 'entity', spellcheck: 'false' })),
    el('label', {}, el('input', { type: 'checkbox', name: 'group' }), ' it is a group'),
    el('button', { type: 'submit', 'data-action': 'explain', text: 'Explain' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = form.querySelector('[name="entity"]').value.trim();
    if (!text) return;
    const isGroup = form.querySelector('[name="group"]').checked;
    const variables = { rule: rule.id };
    if (isGroup) variables.group = globalId('DirectoryGroup', text);
    else variables.user = globalId('DirectoryUser', text);
    output.replaceChildren(el('p', { class: 'muted', text: 'Asking…' }));
    try {
      const found = (await gql(EXPLAIN, variables)).explainEntity;
      if (found.__typename !== 'EntityExplanation') {
        output.replaceChildren(message('error', 'It could not be explained', found.message, 'explain-error'));
        return;
      }
      output.replaceChildren(...render(found));
    } catch (error) {
      output.replaceChildren(message('error', 'It could not be explained', String(error.message), 'explain-error'));
    }
  });
  return el('section', { class: 'explain-section' },
    el('h3', { text: 'Why is it in this state?' }),
    el('p', { class: 'muted', text: 'The whole decision for one user or group; nothing is written.' }),
    form, output);
}
