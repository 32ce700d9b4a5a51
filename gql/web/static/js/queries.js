// GraphQL documents of the console: the public API only (see schema.graphql).

export const RULES = `query ConsoleRules($after: String) {
  rules(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name enabled status direction lastSync
      source { name kind } target { name kind }
      summary { users { impacted success failed } groups { impacted success failed } }
    } }
  }
}`;

const COUNTS = 'impacted success unsynced partialSynced failed writeBackFailures';
const STATES = `totalCount edges { node {
  id kind displayName entityKey state lastAction reason updatedAt
  differences { attribute sourceValue targetValue }
  writeBack { ok reason at }
} }`;
const EVENT = 'id createdAt operation outcome message actor entityKind entityName';
export const RUN = 'id status kind label error startedAt finishedAt startedBy progress { processed total inScope }';

export const RULE = `query ConsoleRule($id: ID!) {
  rule(id: $id) {
    id name enabled status direction lastSync lastRunError userFilter groupIds
    source { name kind } target { name kind }
    connection { name connectorTypeName connectorType { capabilities } }
    summary { lastSync users { ${COUNTS} } groups { ${COUNTS} } }
    runs(first: 5) { edges { node { ${RUN} } } }
    failed: entityStates(state: FAILED, first: 50) { ${STATES} }
    partial: entityStates(state: PARTIAL, first: 50) { ${STATES} }
    unsynced: entityStates(state: UNSYNCED, first: 50) { ${STATES} }
    writeBackFailed: entityStates(writeBack: FAILED, first: 50) { totalCount edges { node {
      id displayName entityKey updatedAt writeBack { ok reason at attributes { attribute value } }
    } } }
    quarantine { since nextAttemptAt reason failedRuns }
    deletionProtection { maxCount maxPercent }
    heldOperations(first: 50) { totalCount edges { node { id kind displayName action heldAt } } }
    retryQueue(first: 50) { totalCount edges { node { id kind displayName operation attempts lastError nextAttemptAt } } }
  }
}`;

export const AUDIT_LOG = `query ConsoleAudit($id: ID!, $first: Int, $after: String, $outcome: String,
    $operation: String, $kind: EntityKind, $search: String) {
  rule(id: $id) {
    auditLog(first: $first, after: $after, outcome: $outcome, operation: $operation, entityKind: $kind, search: $search) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { ${EVENT} } }
    }
  }
}`;

export const VIEWER = 'query ConsoleViewer { viewer { name role mayOperate mayAdminister } }';

export const FULL_RESYNC = `mutation ConsoleFullResync($id: ID!) {
  fullResync(ruleId: $id) {
    __typename
    ... on SyncRun { ${RUN} }
    ... on Error { code message }
  }
}`;

export const SET_ENABLED = `mutation ConsoleSetEnabled($id: ID!, $enabled: Boolean!) {
  setRuleEnabled(ruleId: $id, enabled: $enabled) {
    __typename
    ... on Rule { id enabled }
    ... on Error { code message }
  }
}`;

export const RUN_PROGRESS = `subscription ConsoleRunProgress($id: ID!) {
  syncRunProgress(runId: $id) { ${RUN} }
}`;

export const RUN_NODE = `query ConsoleRun($id: ID!) { node(id: $id) { __typename ... on SyncRun { ${RUN} } } }`;

const HELD_RESULT = `__typename
    ... on HeldOperationsPayload { count run { ${RUN} } }
    ... on Error { code message }`;

export const RELEASE_HELD = `mutation ConsoleReleaseHeld($id: ID!) {
  releaseHeldOperations(ruleId: $id) { ${HELD_RESULT} }
}`;

export const DISCARD_HELD = `mutation ConsoleDiscardHeld($id: ID!) {
  discardHeldOperations(ruleId: $id) { ${HELD_RESULT} }
}`;
