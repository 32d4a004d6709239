// Talking to annotator/api: JSON with the session's CSRF token.

export class ConflictError extends Error {
  constructor(body) {
    super(body.detail || 'This label was saved elsewhere.');
    this.name = 'ConflictError';
    this.currentVersion = body.current_version;
    this.expectedVersion = body.expected_version;
  }
}

/** The request never got an answer (offline, connection dropped, server unreachable). */
export class NetworkError extends Error {
  constructor(cause) {
    super('The server cannot be reached.');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

export class RequestError extends Error {
  constructor(status, body) {
    super(RequestError.describe(status, body));
    this.name = 'RequestError';
    this.status = status;
    this.body = body;
  }

  static describe(status, body) {
    if (!body || typeof body !== 'object') return `The server answered ${status}.`;
    if (body.detail) return body.detail;
    return Object.entries(body).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : v}`).join('; ');
  }
}

let token = '';

/** The page hands over the CSRF token once (the cookie may be HttpOnly). */
export function setCsrfToken(value) { token = value; }

function csrfToken() {
  if (token) return token;
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

/** A JSON request function over `fetchImpl` (tests hand in a fake one): resolves
 * with the parsed body, rejects with ConflictError on a 409 and RequestError on
 * any other non-2xx answer, NetworkError when no answer came (fetch rejected). Writes
 * carry the CSRF token that `csrf()` returns. */
export function jsonRequester(fetchImpl, csrf = csrfToken) {
  return async function request(url, { method = 'GET', body } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRFToken'] = csrf();
    let response;
    try {
      response = await fetchImpl(url, {
        method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new NetworkError(err);
    }
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (response.status === 409) throw new ConflictError(data || {});
    if (!response.ok) throw new RequestError(response.status, data);
    return data;
  };
}

export const requestJSON = jsonRequester((url, init) => fetch(url, init));
