// The rule panel's "Test mappings" form: testAttributeMappings for a directory user or for
// sample attributes. It asks the API only; no target is touched.
import { gql } from './api.js';
import { el, message } from './render.js';

export const TEST_MAPPINGS = `query ConsoleTestMappings($rule: ID!, $user: ID, $sample: JSON) {
  testAttributeMappings(ruleId: $rule, userId: $user, sampleAttributes: $sample) {
    __typename
    ... on AttributeMappingTest { results { target source mapping value error } }
    ... on Error { message code }
  }
}`;

const SAMPLE = '{"givenName": "Ada", "familyName": "Lovelace", "userName": "ada", "ext": {}}';

function shown(value) {
  if (value === null || value === undefined) return '(absent)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function resultsTable(results) {
  return el('table', { class: 'mapping-results', 'data-testid': 'mapping-results' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Target' }), el('th', { text: 'Mapping' }), el('th', { text: 'Value' }))),
    el('tbody', {}, results.map((r) => el('tr', { 'data-target': r.target, class: r.error ? 'mapping-error' : null },
      el('td', { text: r.target }),
      el('td', {}, el('code', { text: r.source === 'FIELD' ? r.mapping : `${r.source.toLowerCase()}: ${shown(r.mapping)}` })),
      el('td', { 'data-col': 'value', text: r.error ? `error: ${r.error}` : shown(r.value) })))));
}

async function run(ruleId, form, output) {
  const who = form.querySelector('[name="user"]').value.trim();
  const variables = { rule: ruleId };
  if (who) {
    variables.user = who;
  } else {
    try {
      variables.sample = JSON.parse(form.querySelector('[name="sample"]').value || '{}');
    } catch (error) {
      output.replaceChildren(message('error', 'The sample attributes are not JSON', String(error.message), 'mapping-test-error'));
      return;
    }
  }
  output.replaceChildren(el('p', { class: 'muted', text: 'Testing…' }));
  try {
    const data = await gql(TEST_MAPPINGS, variables);
    const answer = data.testAttributeMappings;
    if (answer.__typename !== 'AttributeMappingTest') {
      output.replaceChildren(message('error', 'The mappings could not be tested', answer.message, 'mapping-test-error'));
      return;
    }
    output.replaceChildren(resultsTable(answer.results));
  } catch (error) {
    output.replaceChildren(message('error', 'The mappings could not be tested', String(error.message), 'mapping-test-error'));
  }
}

/** The form, for the rule shown in the panel. */
export function mappingTesterSection(rule) {
  const output = el('div', { 'data-testid': 'mapping-test-output' });
  const form = el('form', { class: 'mapping-tester', 'data-testid': 'mapping-tester' },
    el('label', {}, 'Directory user id ', el('input', { name: 'user', placeholder: 'RGlyZWN0b3J5VXNlcjox (or leave empty)', spellcheck: 'false' })),
    el('label', {}, 'or sample attributes (JSON)', el('textarea', { name: 'sample', rows: 3, spellcheck: 'false', text: SAMPLE })),
    el('button', { type: 'submit', 'data-action': 'test-mappings', text: 'Test mappings' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(rule.id, form, output);
  });
  return el('section', { class: 'mappings-section' },
    el('h3', { text: 'Test attribute mappings' }),
    el('p', { class: 'muted', text: 'What each target attribute would be set to; nothing is written.' }),
    form, output);
}
