// The console's only way to the server: GraphQL over HTTP (fetch) and graphql-transport-ws.
// A token, when authentication is on, comes from localStorage['provisyncToken'].

const TOKEN_KEY = 'provisyncToken';

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || 'ERROR';
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage may be off (private mode): the token then lasts for this page only */
  }
}

function errorOf(errors, status) {
  const first = errors[0] || {};
  const code = (first.extensions && first.extensions.code) || (status === 401 ? 'UNAUTHENTICATED' : 'GRAPHQL_ERROR');
  return new ApiError(first.message || 'the API answered with an error', code);
}

/** Run a query or mutation; resolves to `data`, rejects with an ApiError. */
export async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new ApiError(`cannot reach the server (${error.message})`, 'UNREACHABLE');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && Array.isArray(body.errors) && body.errors.length) throw errorOf(body.errors, response.status);
  if (!response.ok || !body || !body.data) {
    const code = response.status === 401 ? 'UNAUTHENTICATED' : response.status === 403 ? 'FORBIDDEN' : `HTTP_${response.status}`;
    throw new ApiError(`the server answered HTTP ${response.status}`, code);
  }
  return body.data;
}

/** A typed error result (`... on Error { code message }`), or null when `result` is a success. */
export function typedError(result, successType) {
  if (!result) return { code: 'NO_RESULT', message: 'the API returned nothing' };
  if (result.__typename === successType) return null;
  return { code: result.code || result.__typename, message: result.message || result.__typename };
}

/**
 * Subscribe over graphql-transport-ws. Handlers: next(data), error(ApiError), complete().
 * Returns a function that ends the subscription.
 */
export function subscribe(query, variables, handlers) {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = getToken();
  const ws = new WebSocket(url.toString(), 'graphql-transport-ws');
  let done = false;
  const finish = (handler, arg) => {
    if (done) return;
    done = true;
    try {
      ws.close(1000);
    } catch {
      /* already closed */
    }
    if (handler) handler(arg);
  };
  ws.onopen = () => {
    const payload = token ? { Authorization: `Bearer ${token}` } : {};
    ws.send(JSON.stringify({ type: 'connection_init', payload }));
  };
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      finish(handlers.error, new ApiError('the live connection sent something unreadable', 'WEBSOCKET'));
      return;
    }
    if (message.type === 'connection_ack') {
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    } else if (message.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong' }));
    } else if (message.type === 'next') {
      const payload = message.payload || {};
      if (payload.errors && payload.errors.length) finish(handlers.error, errorOf(payload.errors));
      else handlers.next(payload.data);
    } else if (message.type === 'error') {
      finish(handlers.error, errorOf(Array.isArray(message.payload) ? message.payload : [message.payload || {}]));
    } else if (message.type === 'complete') {
      finish(handlers.complete);
    }
  };
  ws.onerror = () => finish(handlers.error, new ApiError('the live connection failed', 'WEBSOCKET'));
  ws.onclose = (event) => {
    const why = event.code === 4401 || event.code === 4403 ? 'not authorized' : `code ${event.code}`;
    finish(handlers.error, new ApiError(`the live connection closed (${why}${event.reason ? `: ${event.reason}` : ''})`, 'WEBSOCKET'));
  };
  return () => finish(null);
}
