// The JSON API client: relative URLs (so the page also works behind a
// reverse proxy under a sub-path), JSON bodies, the bearer token, and one
// error type carrying the server's {"error": "..."} message.

const TOKEN_KEY = "hwlab.advisor.token";

// ApiError is any failed request; status 0 means the server was not reached.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let askToken = async () => null;
let pendingAsk = null;

// setTokenPrompt installs the function that asks the user for a token;
// it gets {rejected: bool} and resolves to the token, or null if cancelled.
export function setTokenPrompt(fn) {
  askToken = fn;
}

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return ""; // storage may be disabled; then the token lives in memory
  }
}

let memoryToken = "";

function currentToken() {
  return storedToken() || memoryToken;
}

function saveToken(token) {
  memoryToken = token;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // memoryToken still holds it for this page's life
  }
}

// One dialog at a time: concurrent 401s share the same question.
function obtainToken(rejected) {
  if (!pendingAsk) {
    pendingAsk = askToken({ rejected }).finally(() => {
      pendingAsk = null;
    });
  }
  return pendingAsk;
}

// request sends one API call and returns the Response when it is 2xx.
// body (an object) is sent as JSON. State-changing methods always send
// Content-Type: application/json, which the server requires, even without a
// body. On 401 it asks for a token and sends the request again. headers
// adds request headers (Last-Event-ID when a stream is resumed); signal
// aborts the request, and then its AbortError is thrown as it is.
export async function request(
  path,
  { method = "GET", body, accept = "application/json", headers: extra = {}, signal } = {},
) {
  const changing = method !== "GET" && method !== "HEAD";
  for (;;) {
    const headers = { ...extra, Accept: accept };
    if (changing) headers["Content-Type"] = "application/json";
    const sent = currentToken();
    if (sent) headers.Authorization = "Bearer " + sent;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: encodeBody(method, body),
        credentials: "same-origin",
        cache: "no-store",
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, "Could not reach the server. Check the connection and try again.");
    }
    if (res.status === 401) {
      if (sent && currentToken() === sent) saveToken("");
      const token = await obtainToken(Boolean(sent));
      if (!token) throw new ApiError(401, "This server needs an access token.");
      saveToken(token);
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
    return res;
  }
}

// json is request() followed by decoding the body (null for 204).
export async function json(path, options) {
  const res = await request(path, options);
  if (res.status === 204) return null;
  return res.json();
}

// POST and PATCH always carry a JSON object; DELETE carries none.
function encodeBody(method, body) {
  if (body !== undefined) return JSON.stringify(body);
  return method === "POST" || method === "PATCH" ? "{}" : undefined;
}

async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === "string" && body.error) return body.error;
  } catch {
    // not JSON: fall through to the status line
  }
  return `The server answered ${res.status} ${res.statusText}`.trim() + ".";
}
