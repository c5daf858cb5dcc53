// The slider check (滑块验证) and the SMS code button with its resend countdown.
// A slider: <div data-slider> holding .slider-track > .slider-handle, .slider-text and a hidden
// input that receives the pass. The drag (pointer, or the arrow keys) is recorded and sent with
// a proof of work the server asked for (server/src/captcha).
import { api, fieldMessage } from './common.js';
import { zeroBits } from './sm3.js';

const TRACK = 300;

function solve(id, bits) {
  return new Promise((resolve) => {
    let nonce = 0;
    const step = () => {
      const end = nonce + 20000;
      for (; nonce < end; nonce++) {
        if (zeroBits(`${id}:${nonce}`) >= bits) {
          resolve(String(nonce));
          return;
        }
      }
      setTimeout(step, 0);
    };
    step();
  });
}

export function attachSlider(root) {
  const track = root.querySelector('.slider-track');
  const handle = root.querySelector('.slider-handle');
  const fill = root.querySelector('.slider-fill');
  const text = root.querySelector('.slider-text');
  const input = root.querySelector('input[type="hidden"]');
  let points = [];
  let start = 0;
  let dragging = false;
  let challenge = null;
  let done = false;

  const span = () => track.clientWidth - handle.offsetWidth;
  const place = (x) => {
    const px = (Math.max(0, Math.min(TRACK, x)) / TRACK) * span();
    handle.style.transform = `translateX(${px}px)`;
    fill.style.width = `${px + handle.offsetWidth / 2}px`;
  };
  const record = (x) => {
    const t = Math.round(performance.now() - start);
    const last = points[points.length - 1];
    if (last && t <= last.t) return;
    points.push({ t, x: Math.max(0, Math.min(TRACK, x)) });
    place(x);
  };
  const say = (message, state) => {
    text.textContent = message;
    root.dataset.state = state;
  };
  const reset = (message) => {
    dragging = false;
    done = false;
    points = [];
    challenge = null;
    input.value = '';
    place(0);
    handle.disabled = false;
    say(message, message === '请按住滑块，拖动到最右边' ? 'idle' : 'error');
  };
  const begin = () => {
    if (done) return false;
    dragging = true;
    start = performance.now();
    points = [];
    record(0);
    challenge = api('/api/v1/captcha').catch((error) => error);
    return true;
  };
  const finish = async () => {
    dragging = false;
    const last = points[points.length - 1];
    if (!last || last.x < TRACK - 4) {
      reset('请按住滑块，拖动到最右边');
      return;
    }
    done = true;
    handle.disabled = true;
    say('正在验证…', 'busy');
    const issued = await challenge;
    if (issued instanceof Error) {
      reset(issued.message);
      return;
    }
    const nonce = await solve(issued.id, issued.difficulty_bits);
    try {
      const answer = await api(`/api/v1/captcha/${issued.id}`, { nonce, track: points });
      input.value = answer.captcha_pass;
      say('验证通过', 'passed');
      root.dispatchEvent(new CustomEvent('captcha-pass', { bubbles: true }));
    } catch (error) {
      reset(`${error.message}，请重新滑动`);
    }
  };

  handle.addEventListener('pointerdown', (event) => {
    if (!begin()) return;
    handle.setPointerCapture(event.pointerId);
    const origin = event.clientX;
    const move = (e) => dragging && record(((e.clientX - origin) / span()) * TRACK);
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
      finish();
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  });
  // Keyboard: each → moves the handle a step (the presses' own rhythm is the drag), End or
  // Enter at the end finishes.
  handle.addEventListener('keydown', (event) => {
    if (done) return;
    if (event.key === 'ArrowRight') {
      event.preventDefault();
      if (!dragging) begin();
      const last = points[points.length - 1];
      record(Math.min(TRACK, last.x + 30));
      if (points[points.length - 1].x >= TRACK) finish();
    } else if (event.key === 'End' && dragging) {
      event.preventDefault();
      record(TRACK);
      finish();
    }
  });
  root.reset = reset;
  reset('请按住滑块，拖动到最右边');
  return root;
}

// The SMS code button: <button data-otp data-purpose data-phone-field="phone"
// data-slider-id="…">. Sends the code once the slider has passed, then counts down.
export function attachOtpButton(button) {
  const form = button.form;
  const slider = document.getElementById(button.dataset.sliderId);
  const label = button.textContent;
  let timer = null;
  const countdown = (secs) => {
    let left = secs;
    button.disabled = true;
    const tick = () => {
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = '重新获取';
        return;
      }
      button.textContent = `${left} 秒后重新获取`;
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  };
  button.addEventListener('click', async () => {
    const phoneField = button.dataset.phoneField;
    const phone = form.elements[phoneField].value.trim();
    fieldMessage(form, phoneField, '');
    fieldMessage(form, 'captcha_pass', '');
    if (!/^1\d{10}$/.test(phone)) {
      fieldMessage(form, phoneField, '请输入 11 位手机号码');
      form.elements[phoneField].focus();
      return;
    }
    const pass = slider.querySelector('input[type="hidden"]').value;
    if (!pass) {
      fieldMessage(form, 'captcha_pass', '请先向右滑动滑块完成验证');
      return;
    }
    button.disabled = true;
    try {
      const sent = await api('/api/v1/otp', { phone, purpose: button.dataset.purpose, captcha_pass: pass });
      fieldMessage(form, 'code', '');
      const note = form.querySelector('[data-otp-note]');
      if (note) note.textContent = `验证码已发送至 ${phone.slice(0, 3)}****${phone.slice(7)}，5 分钟内有效`;
      countdown(sent.resend_after_secs || 60);
      form.elements.code.focus();
    } catch (error) {
      button.disabled = false;
      fieldMessage(form, error.field || (error.code.startsWith('captcha') ? 'captcha_pass' : phoneField), error.message);
    } finally {
      // A pass is good for one code: the next code needs the slider again.
      slider.reset('如需重新获取验证码，请再次滑动验证');
      slider.dataset.state = 'idle';
    }
  });
  button.textContent = label;
}

for (const root of document.querySelectorAll('[data-slider]')) attachSlider(root);
for (const button of document.querySelectorAll('[data-otp]')) attachOtpButton(button);
