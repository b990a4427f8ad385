// The dashboard's one way to call the edge: same origin, the session cookie, JSON in and out. Every refusal
// becomes an ApiError carrying the status and the message the edge gave.

export class ApiError extends Error {
  constructor(status, body) {
    super(messageOf(body) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

// The human message of any of the edge's error shapes (seed 001, 002, 003, 004, tracking).
export function messageOf(body) {
  if (!body || typeof body !== 'object') return '';
  const e = body.error;
  if (e && typeof e === 'object') {
    const details = (e.details || []).map((d) => `${d.field}: ${d.message}`).join('; ');
    return [e.message, details].filter(Boolean).join(' — ');
  }
  return [typeof e === 'string' ? e : '', body.message || '', body.field ? `(${body.field})` : '']
    .filter(Boolean).join(' ');
}

async function parse(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { message: text };
  }
}

// `method path` with an optional JSON body (and extra headers); the parsed answer, or an ApiError.
export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const parsed = await parse(response);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// The `data` of a seed-003 style answer, or the answer itself.
export const data = (answer) => (answer && answer.data !== undefined ? answer.data : answer);

// A file from the edge (e.g. the conversion export): its text and headers.
export async function download(path) {
  const response = await fetch(path, { credentials: 'same-origin' });
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  return { text: await response.text(), headers: response.headers };
}

export const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
