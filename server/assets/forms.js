// What the wizard's forms do in the page: upload a chosen image at once (with its preview and,
// for a licence or an ID card, the fields read from it), the 省·市·县 picker, and the service
// agreement's reading countdown.
import { api, fieldMessage } from './common.js';

const TYPES = ['image/jpeg', 'image/png'];
const MAX_BYTES = 6 * 1024 * 1024;

// <div data-upload data-purpose="licence" data-target="licence_upload_id" data-ocr>
//   <input type="file"> <img class="preview"> <p class="upload-status"></p></div>
function attachUpload(root) {
  const form = root.closest('form');
  const input = root.querySelector('input[type="file"]');
  const preview = root.querySelector('img.preview');
  const status = root.querySelector('.upload-status');
  const target = root.dataset.target;
  input.addEventListener('change', async () => {
    const file = input.files[0];
    fieldMessage(form, target, '');
    if (!file) return;
    if (!TYPES.includes(file.type)) {
      fieldMessage(form, target, '只能上传 jpg/jpeg/png 格式的图片，请重新选择');
      input.value = '';
      return;
    }
    if (file.size > MAX_BYTES) {
      fieldMessage(form, target, `图片大小 ${(file.size / 1048576).toFixed(1)} MB，超过 6 MB，请压缩后重新选择`);
      input.value = '';
      return;
    }
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    status.textContent = '正在上传…';
    const body = new FormData();
    body.append('purpose', root.dataset.purpose);
    body.append('file', file);
    try {
      const stored = await api('/api/v1/uploads', body);
      form.elements[target].value = stored.id;
      status.textContent = `已上传保存（${(stored.size / 1024).toFixed(1)} KB）`;
    } catch (error) {
      status.textContent = '';
      fieldMessage(form, target, error.message);
      return;
    } finally {
      input.value = '';
    }
    if ('ocr' in root.dataset) prefill(form, form.elements[target].value, status);
  });
}

// The fields a recognised licence or ID card fills, when they are still empty.
const PREFILL = {
  unit_name: 'name',
  uscc: 'uscc',
  legal_representative_name: 'legal_representative_name',
  address: 'address',
  registration_authority: 'registration_authority',
  name: 'name',
  id_number: 'id_number',
};

async function prefill(form, id, status) {
  try {
    const read = await api(`/api/v1/uploads/${id}/recognition`);
    const filled = [];
    for (const [key, field] of Object.entries(PREFILL)) {
      const input = form.elements[field];
      if (read[key] && input && !input.value.trim()) {
        input.value = read[key];
        filled.push(input.labels[0]?.textContent.replace(/\s*\*$/, '') || field);
      }
    }
    if (filled.length) status.textContent += `；已自动识别：${filled.join('、')}，请仔细核对`;
  } catch (error) {
    if (error.code !== 'ocr_not_configured') status.textContent += `；${error.message}`;
  }
}

// <div data-region> with three <select>s: province, city, county (name="region_code").
async function attachRegion(root) {
  const [province, city, county] = root.querySelectorAll('select');
  let table;
  try {
    table = await (await fetch('/assets/regions.json')).json();
  } catch {
    return; // the options the server rendered stay usable
  }
  const fill = (select, regions, prompt) => {
    select.replaceChildren(new Option(prompt, ''), ...regions.map(([code, name]) => new Option(name, code)));
    select.disabled = regions.length === 0;
  };
  const children = (regions, code) => regions.find(([c]) => c === code)?.[2] || [];
  province.addEventListener('change', () => {
    fill(city, children(table, province.value), '请选择市');
    fill(county, [], '请选择区（县）');
  });
  city.addEventListener('change', () => {
    fill(county, children(children(table, province.value), city.value), '请选择区（县）');
  });
  // A county chosen before the page was left (a kept draft): choose its province and city too.
  const pending = root.dataset.pending;
  if (pending) {
    province.value = pending.slice(0, 2);
    fill(city, children(table, province.value), '请选择市');
    city.value = pending.slice(0, 4);
    fill(county, children(children(table, province.value), city.value), '请选择区（县）');
    county.value = pending;
  }
}

// <button data-countdown="12">我已阅读并同意上述协议</button>
function attachCountdown(button) {
  let left = Number(button.dataset.countdown);
  const label = button.textContent;
  if (!(left > 0)) return;
  button.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(timer);
      button.disabled = false;
      button.textContent = label;
      return;
    }
    button.textContent = `请阅读协议（${left} 秒）`;
    left -= 1;
  };
  const timer = setInterval(tick, 1000);
  tick();
}

// A form that must not be sent twice (double click, a slow answer).
function attachOnce(form) {
  form.addEventListener('submit', (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = '1';
    for (const button of form.querySelectorAll('button[type="submit"]')) button.setAttribute('aria-busy', 'true');
  });
}

for (const root of document.querySelectorAll('[data-upload]')) attachUpload(root);
for (const root of document.querySelectorAll('[data-region]')) attachRegion(root);
for (const button of document.querySelectorAll('[data-countdown]')) attachCountdown(button);
for (const form of document.querySelectorAll('form[data-once]')) attachOnce(form);

// A common reject reason, put in the reason box to edit.
for (const button of document.querySelectorAll('[data-reason]')) {
  button.addEventListener('click', () => {
    const box = button.form.elements.reason;
    box.value = button.dataset.reason;
    box.focus();
  });
}

// 事项授权: the dialog of a sub-certificate, and its item search.
for (const button of document.querySelectorAll('[data-dialog]')) {
  const dialog = document.getElementById(button.dataset.dialog);
  button.addEventListener('click', () => dialog.showModal());
  dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());
  const search = dialog.querySelector('[data-item-search]');
  search?.addEventListener('input', () => {
    const needle = search.value.trim();
    for (const item of dialog.querySelectorAll('.item')) {
      item.hidden = needle !== '' && !item.dataset.name.includes(needle);
    }
  });
}

// A step's typed values kept in this tab until they are saved: a session that ended mid-step
// sends the browser to sign in and back, and what was typed is filled in again.
for (const form of document.querySelectorAll('form[data-draft]')) {
  const key = `mcert-draft:${location.pathname}`;
  const kept = (element) =>
    element.name &&
    element.name !== 'captcha_pass' &&
    element.type !== 'password' &&
    element.type !== 'file' &&
    element.type !== 'submit' &&
    (element.type !== 'hidden' || element.name.endsWith('_upload_id'));
  const save = () => {
    const values = {};
    for (const element of form.elements) {
      if (!kept(element)) continue;
      if (element.type === 'radio') {
        if (element.checked) values[element.name] = element.value;
      } else {
        values[element.name] = element.value;
      }
    }
    sessionStorage.setItem(key, JSON.stringify(values));
  };
  const saved = JSON.parse(sessionStorage.getItem(key) || 'null');
  if (saved) {
    for (const element of form.elements) {
      if (!kept(element) || !(element.name in saved)) continue;
      if (element.type === 'radio') {
        element.checked = element.value === saved[element.name];
      } else if (element.tagName !== 'SELECT' || [...element.options].some((o) => o.value === saved[element.name])) {
        element.value = saved[element.name];
      } else if (element.closest('[data-region]')) {
        element.closest('[data-region]').dataset.pending = saved[element.name];
      }
    }
  }
  sessionStorage.removeItem(key);
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  form.addEventListener('submit', save);
}

// The error pages' way back.
for (const button of document.querySelectorAll('[data-back]')) {
  button.addEventListener('click', () => history.back());
}
