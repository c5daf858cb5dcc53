// What every page module shares: calling mcert's JSON API from a page (same origin, the page's
// session cookie, the header that marks a page's call) and showing a message next to a field.

/** POSTs `body` (JSON, or FormData as multipart) to `path`; resolves to the JSON answer or
 *  throws an Error whose `code`, `message` and `field` are the API's. */
export async function api(path, body) {
  const init = { method: 'POST', headers: { 'X-Mcert-Page': '1' }, credentials: 'same-origin' };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw Object.assign(new Error('网络连接失败，请检查网络后重试'), { code: 'network' });
  }
  const text = await response.text();
  let answer = {};
  try {
    answer = text ? JSON.parse(text) : {};
  } catch {
    answer = {};
  }
  if (!response.ok) {
    const error = new Error(answer.message || `请求失败（${response.status}），请稍后重试`);
    error.code = answer.code || String(response.status);
    error.field = answer.field;
    error.status = response.status;
    throw error;
  }
  return answer;
}

/** Shows `message` (or clears it) in the error slot of the field named `name` in `form`. */
export function fieldMessage(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${name}"]`);
  const input = form.querySelector(`[name="${name}"]`);
  if (slot) {
    slot.textContent = message || '';
    slot.hidden = !message;
  }
  if (input) {
    if (message) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  }
}
