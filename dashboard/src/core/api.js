/*
 * api.js - the page's requests to the bridge's HTTP API.
 *
 * getJson() for reads, postJson() for everything that changes state:
 * the bridge takes only a JSON body with Content-Type: application/json
 * there (a cross-site form cannot send one; anything else is 415).  Both
 * resolve, never reject, with {ok, status, json, error, retryAfter}:
 * status 0 is a network error (the bridge unreachable), error is the
 * bridge's own {"error"} text when it gave one.
 *
 * A read answered 401 means the session this page had is gone (idle,
 * logged out elsewhere, its user deleted) and anonymous reading is off:
 * onUnauthorized's hook (main.js) then asks /api/me what to do, so no
 * view has to know about sessions.
 */

let unauthorized = () => {};

/* fn(path) after any read answered 401. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

async function answer(res) {
  let json = null;
  try {
    json = await res.json();
  } catch (_) {
    /* not JSON (a proxy's page): status says enough */
  }
  const ra = parseInt(res.headers.get("Retry-After"), 10);
  return {
    ok: res.ok,
    status: res.status,
    json,
    error: json && typeof json.error === "string" ? json.error : null,
    retryAfter: isFinite(ra) && ra >= 0 ? ra : null,
  };
}

/* The answer of a fetch() someone else started (early.js), as getJson's. */
export async function fromFetch(pending) {
  let res;
  try {
    res = await pending;
  } catch (_) {
    return { ok: false, status: 0, json: null, error: null, retryAfter: null };
  }
  return answer(res);
}

export async function getJson(path) {
  let res;
  try {
    res = await fetch(path, { cache: "no-store", credentials: "same-origin" });
  } catch (_) {
    return { ok: false, status: 0, json: null, error: null, retryAfter: null };
  }
  const a = await answer(res);
  if (a.status === 401 && path !== "/api/me") unauthorized(path);
  return a;
}

export async function postJson(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (_) {
    return { ok: false, status: 0, json: null, error: null, retryAfter: null };
  }
  return answer(res);
}
