// The signed-in user: a bearer token kept in sessionStorage (gone with the tab), its decoded claims,
// and the API calls that carry it. The claims only decide what the page shows; the gateway checks
// the signature and the roles of every call.

const STORAGE_KEY = 'hotswap.dashboard.token';

/** The verbs of `POST /api/v1/distributions/{id}/<verb>` and the roles the gateway allows them. */
export const VERBS = ['pause', 'resume', 'approve', 'promote', 'cancel', 'rollback'];
const OPERATOR_ROLES = ['Admin', 'Operator'];

export class SessionError extends Error {}

/** `{ subject, roles, expiresAt }` of a JWT, without verifying it; throws SessionError naming what is wrong. */
export function decodeToken(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new SessionError('this is not a JWT (expected three dot-separated parts)');
  let claims;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SessionError('the token payload is not base64url-encoded JSON');
  }
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((role) => typeof role === 'string') : [];
  return {
    subject: typeof claims.sub === 'string' ? claims.sub : 'unknown user',
    roles,
    expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined,
  };
}

/** The operator verbs a user with `roles` may use (none for Viewer and ModelDeveloper). */
export function verbsFor(roles) {
  return roles.some((role) => OPERATOR_ROLES.includes(role)) ? VERBS : [];
}

/** Reads `#token=…` once (then drops it from the address bar and history) or the stored token. */
export function takeTokenFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  if (token.trim() !== '') sessionStorage.setItem(STORAGE_KEY, token.trim());
}

export function storedToken() {
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

/** Checks and keeps a token; throws SessionError when it cannot be a usable token. */
export function signIn(token) {
  const trimmed = token.trim();
  if (trimmed === '') throw new SessionError('paste a token first');
  const user = decodeToken(trimmed);
  if (user.expiresAt !== undefined && user.expiresAt.getTime() <= Date.now()) {
    throw new SessionError(`this token expired at ${user.expiresAt.toLocaleString()}`);
  }
  sessionStorage.setItem(STORAGE_KEY, trimmed);
  return user;
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** An API answer that is not 2xx: the gateway's `{ statusCode, error, message }`. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** JSON from the gateway with the bearer token; throws ApiError with the gateway's message. */
export async function api(path, init = {}) {
  const token = storedToken();
  const response = await fetch(path, {
    ...init,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      accept: 'application/json',
    },
  });
  const text = await response.text();
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = Array.isArray(body?.message) ? body.message.join('; ') : body?.message ?? `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

/** The live stream of one distribution; EventSource cannot send headers, so the token goes in the query. */
export function distributionEvents(id) {
  const token = storedToken() ?? '';
  return new EventSource(`/api/v1/distributions/${encodeURIComponent(id)}/events?access_token=${encodeURIComponent(token)}`);
}
