// The public API, and nothing else: every call is relative to the page (same origin).

/** An error the server (or the network) answered with, in the contract's terms. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} reason
   * @param {string} message
   * @param {string} [traceId]
   */
  constructor(status, reason, message, traceId = "") {
    super(`${reason}: ${message}`);
    this.status = status;
    this.reason = reason;
    this.message = message;
    this.traceId = traceId;
  }
}

/**
 * @param {() => string | null} getKey the API key to send, if any
 */
export function createApi(getKey) {
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const key = getKey();
    if (key) headers.Authorization = `Token ${key}`;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    } catch {
      throw new ApiError(0, "NetworkError", "the server could not be reached");
    }
    const trace = response.headers.get("X-Trace-Id") ?? "";
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok || (data && data.code != null)) {
      if (data && typeof data.reason === "string") {
        throw new ApiError(response.status, data.reason, String(data.message ?? ""), data.metadata?.trace_id ?? trace);
      }
      throw new ApiError(response.status, "BadResponse", `HTTP ${response.status} ${response.statusText}`, trace);
    }
    return data;
  }
  return {
    models: () => call("GET", "ent/v2/models"),
    limits: () => call("GET", "console/limits.json"),
    listTasks: (size = 50) => call("GET", `ent/v2/tasks?pager.pagesz=${size}`),
    create: (kind, body) => call("POST", `ent/v2/${kind}`, body),
    credits: () => call("GET", "ent/v2/credits"),
    cancel: (id) => call("POST", `ent/v2/tasks/${encodeURIComponent(id)}/cancel`, {}),
  };
}
