// The console's calls to the API, same origin only. The session is an HttpOnly cookie the
// page cannot read; the CSRF token lives in this module's memory and is sent as a header on
// every state change. The API key is held only for the one sign-in call.

/** Raised for every refused or failed call; `status` 401 means the session is over. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let csrfToken = null;

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Calls the API with the session cookie; a refusal becomes an ApiError with a readable message. */
export async function callApi(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrfToken !== null) headers['X-CSRF-Token'] = csrfToken;
  return send(path, { method, headers, body });
}

/** Exchanges an auditor key for a session; the key is sent once, as a bearer token. */
export async function signIn(apiKey) {
  const session = await send('/console/session', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
  }).catch((error) => {
    if (error.status !== 401) throw error;
    throw new ApiError(401, 'The API key was not accepted. / API 密钥无效。');
  });
  csrfToken = session.csrfToken;
  return { clientId: session.clientId, expiresAt: session.expiresAt };
}

/** Ends the session server-side; the page forgets its token whatever the answer. */
export async function signOut() {
  try {
    await callApi('/console/session', { method: 'DELETE' });
  } finally {
    csrfToken = null;
  }
}

export function forgetSession() {
  csrfToken = null;
}

async function send(path, { method, headers, body }) {
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
  });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, describeError(response.status, payload));
  return payload;
}

function describeError(status, payload) {
  const error = payload && payload.error;
  if (status === 401)
    return 'Not signed in, or the session ended: sign in again. / 未登录或会话已结束，请重新登录。';
  if (status === 403 && error && error.details && error.details.length > 0) {
    return 'The request lacked its session token: sign in again. / 请求缺少会话令牌，请重新登录。';
  }
  if (status === 403) return 'This API key is not an auditor key. / 此 API 密钥不是审计员密钥。';
  if (status === 429)
    return 'Too many attempts: wait a minute and try again. / 尝试次数过多，请稍后再试。';
  if (status === 400 && error && Array.isArray(error.details)) {
    return `Not valid / 无效: ${error.details.map((d) => `${d.path} ${d.message}`).join('; ')}.`;
  }
  if (error && typeof error.message === 'string') return error.message;
  return `The service answered ${status}. / 服务返回 ${status}。`;
}
