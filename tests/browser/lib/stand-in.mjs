/**
 * A stand-in for mcert's side of the hosted QR login page, so the page can be tested on its
 * own: a node:http server on loopback that fills the two askama templates as the Rust handler
 * does (each `{{ name }}` HTML-escaped, `{{ name|safe }}` — the QR SVG — as it is), sends the
 * page's Content-Security-Policy, and serves the status stream (Server-Sent Events) that the
 * test drives step by step.
 */

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'server', 'templates');
export const LOGIN_PAGE = join(TEMPLATES, 'login_page.html');
export const ERROR_PAGE = join(TEMPLATES, 'login_page_error.html');

/** `{{ name }}` or `{{ name|safe }}`, the only expressions the templates use. */
const EXPRESSION = /\{\{\s*([a-z_]+)(\|safe)?\s*\}\}/g;

/** The page's CSP as the server sends it, for a given nonce. */
export function contentSecurityPolicy(nonce) {
  return (
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
  );
}

/** The escaping the server applies to every value but the SVG. */
export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#x27;');
}

/** The placeholders a template uses, `|safe` ones marked so. */
export function placeholders(template) {
  return [...new Set([...template.matchAll(EXPRESSION)].map((m) => m[1] + (m[2] ?? '')))].sort();
}

/**
 * `template` with every placeholder replaced in one pass, as askama does: values escaped,
 * `|safe` ones inserted as they are. A placeholder without a value fails, so the template and
 * the handler cannot drift apart.
 */
export function fill(template, values) {
  return template.replace(EXPRESSION, (_whole, name, safe) => {
    assert.ok(name in values, `no value for {{ ${name} }}`);
    return safe ? values[name] : escapeHtml(values[name]);
  });
}

/**
 * An SVG that looks like a 25×25 QR code (finder patterns, random modules) with a quiet zone,
 * drawn as the server draws its codes: one `<path>` of unit squares, no `style` attributes.
 */
export function fakeQrSvg(seed) {
  const size = 25;
  const dark = new Set();
  const finder = (x0, y0) => {
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 7; x++) {
        const ring = x === 0 || y === 0 || x === 6 || y === 6;
        const core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
        if (ring || core) dark.add(`${x0 + x},${y0 + y}`);
      }
    }
  };
  finder(0, 0);
  finder(size - 7, 0);
  finder(0, size - 7);
  let state = [...seed].reduce((acc, c) => (acc * 31 + c.charCodeAt(0)) >>> 0, 7);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inFinder = (x < 8 && y < 8) || (x >= size - 8 && y < 8) || (x < 8 && y >= size - 8);
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      if (!inFinder && (state >>> 16) % 2 === 0) dark.add(`${x},${y}`);
    }
  }
  const path = [...dark]
    .map((key) => {
      const [x, y] = key.split(',').map(Number);
      return `M${x + 4} ${y + 4}h1v1h-1z`;
    })
    .join('');
  const full = size + 8;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${full} ${full}" ` +
    `shape-rendering="crispEdges"><rect width="${full}" height="${full}" fill="#fff"/>` +
    `<path fill="#000" d="${path}"/></svg>`
  );
}

/** One login session of the stand-in; the test moves it with {@link StandInSession.set}. */
class StandInSession {
  constructor(id, options) {
    this.id = id;
    this.state = options.state ?? 'pending';
    this.next = undefined;
    this.matchCode = options.matchCode ?? String(randomInt(100)).padStart(2, '0');
    this.expiresAt = new Date(Date.now() + (options.ttlMs ?? 120_000)).toISOString();
    this.portalName = options.portalName ?? '就业彩云南';
    this.portalOrigin = options.portalOrigin ?? 'https://portal.example.cn';
    /** `ok`, or `refuse` (404 on the stream, as for a missing cookie). */
    this.stream = options.stream ?? 'ok';
    this.streams = new Set();
    this.connections = 0;
    this.continueHits = 0;
    this.heldContinue = null;
  }

  /** Moves the session to `state` and tells every open stream (`next` for `confirmed`). */
  set(state, next) {
    this.state = state;
    this.next = next;
    for (const stream of this.streams) this.write(stream);
  }

  /** Resolves once the page has the stream open. */
  async connected() {
    const deadline = Date.now() + 10_000;
    while (this.streams.size === 0) {
      assert.ok(Date.now() < deadline, `the page did not open the stream of ${this.id}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends every open stream, as a restarted server instance would. */
  dropStreams() {
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
  }

  /**
   * Holds the answer to `/continue` until the returned function is called, so the page's
   * last state can be looked at while the browser waits for it.
   */
  holdContinue() {
    let release;
    this.heldContinue = new Promise((r) => {
      release = r;
    });
    return () => release();
  }

  write(stream) {
    const data = { state: this.state };
    if (this.next !== undefined) data.next = this.next;
    stream.write(`event: ${this.state}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

/**
 * Starts the stand-in on 127.0.0.1 with a port the OS picks. Paths:
 * `/login/{id}`, `/login/{id}/events`, `/login/{id}/continue` (→ the portal's callback with a
 * code, or `error=access_denied` after `denied`), `/oauth2/authorize` (the restart URL),
 * `/error?title&message` (the error template), `/portal/callback` (the portal).
 */
export async function startStandIn() {
  const loginTemplate = readFileSync(LOGIN_PAGE, 'utf8');
  const errorTemplate = readFileSync(ERROR_PAGE, 'utf8');
  const sessions = new Map();
  let baseUrl = '';

  const restartUrl = (session) =>
    `/oauth2/authorize?response_type=code&client_id=portal-1&redirect_uri=${encodeURIComponent(
      'http://127.0.0.1/portal/callback',
    )}&scope=openid&state=st-${session.id}`;

  const html = (response, body, nonce) => {
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': contentSecurityPolicy(nonce),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(body);
  };

  const server = createServer(async (request, response) => {
    const url = new URL(request.url, baseUrl);
    const match = /^\/login\/([A-Za-z0-9_-]+)(\/events|\/continue)?$/.exec(url.pathname);
    const session = match ? sessions.get(match[1]) : undefined;
    if (match && session && match[2] === undefined) {
      const nonce = randomBytes(16).toString('base64');
      const page = fill(
        loginTemplate,
        {
          portal_name: session.portalName,
          portal_origin: session.portalOrigin,
          qr_svg: fakeQrSvg(session.id),
          qr_text: `${baseUrl}/q/${session.id}`,
          match_code: session.matchCode,
          expires_at: session.expiresAt,
          events_url: `/login/${session.id}/events`,
          continue_url: `/login/${session.id}/continue`,
          restart_url: restartUrl(session),
          nonce,
        },
      );
      html(response, page, nonce);
    } else if (match && session && match[2] === '/events') {
      session.connections += 1;
      if (session.stream === 'refuse') {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end('{"code":"login_not_found","message":"登录会话不存在或已过期"}');
        return;
      }
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      // Reconnect quickly in tests; the current state comes first.
      response.write('retry: 200\n\n');
      session.write(response);
      session.streams.add(response);
      response.on('close', () => session.streams.delete(response));
    } else if (match && session && match[2] === '/continue') {
      session.continueHits += 1;
      if (session.heldContinue !== null) await session.heldContinue;
      const query =
        session.state === 'denied' || session.state === 'mismatched'
          ? `error=access_denied&state=st-${session.id}`
          : `code=code-${session.id}&state=st-${session.id}`;
      response.writeHead(302, { Location: `/portal/callback?${query}` });
      response.end();
    } else if (url.pathname === '/portal/callback' || url.pathname === '/oauth2/authorize') {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      // The icon link keeps Chromium from asking for /favicon.ico (a 404 would count as a problem).
      response.end(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>portal</title><p>${escapeHtml(url.pathname)}</p>`);
    } else if (url.pathname === '/error') {
      const nonce = randomBytes(16).toString('base64');
      const page = fill(errorTemplate, {
        title: url.searchParams.get('title') ?? '',
        message: url.searchParams.get('message') ?? '',
        nonce,
      });
      html(response, page, nonce);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found');
    }
  });
  await new Promise((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  baseUrl = `http://127.0.0.1:${server.address().port}`;

  return {
    baseUrl,
    /** A new session; `options`: state, matchCode, ttlMs, portalName, portalOrigin, stream. */
    session(options = {}) {
      const id = randomBytes(16).toString('base64url');
      const session = new StandInSession(id, options);
      sessions.set(id, session);
      return Object.assign(session, {
        pageUrl: `${baseUrl}/login/${id}`,
        continueUrl: `${baseUrl}/login/${id}/continue`,
        restartUrl: `${baseUrl}${restartUrl(session)}`,
        qrText: `${baseUrl}/q/${id}`,
      });
    },
    async stop() {
      for (const session of sessions.values()) session.dropStreams();
      server.closeAllConnections();
      await new Promise((resolveClose) => server.close(resolveClose));
    },
  };
}
