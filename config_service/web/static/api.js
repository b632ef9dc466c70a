// The console's only way to the service: the JSON API under /api/v1, with the token in the
// Authorization header. The token lives in this tab's sessionStorage — never in a URL, a
// cookie or a log line.

const TOKEN_KEY = "config-service.token";
export const API = "/api/v1";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  forget() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An API error: the problem+json fields (code, detail, path, holder, current) and the status. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || "http_error";
    this.detail = problem.detail || problem.title || `the service answered ${status}`;
    this.path = problem.path ?? null;
    this.holder = problem.holder ?? null;
    this.current = problem.current ?? null;
    this.problem = problem;
  }
}

const listeners = new Set();
/** Called with every 401, so the app can return to the sign-in page. */
export function onUnauthenticated(fn) {
  listeners.add(fn);
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.append(key, String(value));
  }
  const text = params.toString();
  if (!text) return path;
  return path + (path.includes("?") ? "&" : "?") + text;
}

async function problemOf(response) {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") return body;
  } catch {
    // not JSON: a proxy's page, say; fall through to a plain message
  }
  return { detail: `the service answered ${response.status} ${response.statusText}`.trim() };
}

/**
 * One API call. Resolves to {data, status, etag, headers}; rejects with ApiError (or with a
 * network error turned into one, status 0). `body` is sent as JSON unless `raw` is given.
 */
export async function request(method, path, { body, query, headers = {}, contentType, signal, raw } = {}) {
  const init = { method, headers: authHeaders({ Accept: "application/json", ...headers }), signal, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = contentType || "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + withQuery(path, query), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, {
      code: "network",
      detail: "the service cannot be reached; check your connection and retry",
    });
  }
  if (!response.ok && response.status !== 304) {
    const problem = await problemOf(response);
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && session.token) listeners.forEach((fn) => fn(error));
    throw error;
  }
  const etag = response.headers.get("ETag");
  if (raw) return { response, status: response.status, etag };
  const text = response.status === 204 || response.status === 304 ? "" : await response.text();
  return { data: text ? JSON.parse(text) : null, status: response.status, etag, headers: response.headers };
}

export const get = (path, options) => request("GET", path, options).then((r) => r.data);
export const post = (path, body, options = {}) => request("POST", path, { ...options, body }).then((r) => r.data);
export const put = (path, body, options = {}) => request("PUT", path, { ...options, body }).then((r) => r.data);
export const patch = (path, body, options = {}) => request("PATCH", path, { ...options, body }).then((r) => r.data);
export const del = (path, options) => request("DELETE", path, options).then((r) => r.data);

/** Every page of a cursor listing ({items, next_cursor}), up to `max` items. */
export async function getAll(path, query = {}, max = 2000) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { query: { ...query, limit: 500, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** Download a response body as a file (fetch + Blob: the token stays in the header). */
export async function download(path, query, filename) {
  const { response } = await request("GET", path, { query, raw: true, headers: { Accept: "*/*" } });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const enc = encodeURIComponent;
