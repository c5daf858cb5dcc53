import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';

import {
  WxApiError,
  type WxRandomApi,
  type WxRequestApi,
  type WxStorageApi,
  fetchRequest,
  memoryStorage,
  webCryptoEntropy,
  wxEntropy,
  wxRequest,
  wxStorage,
} from '../src/index';

test('fetchRequest sends JSON and parses JSON, text and empty answers (real HTTP)', async () => {
  const seen: {
    method: string | undefined;
    url: string | undefined;
    headers: object;
    body: string;
  }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === '/json') {
        res.writeHead(403, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ code: 'pin_incorrect', message: 'PIN 码错误', remaining_attempts: 4 }),
        );
      } else if (req.url === '/text') {
        res.writeHead(502);
        res.end('Bad Gateway');
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const request = fetchRequest(fetch);
    const json = await request({
      url: `${base}/json`,
      method: 'POST',
      headers: { Authorization: 'Bearer t' },
      body: { purpose: 'verify_pin', 名: '云南' },
    });
    assert.deepEqual(json, {
      status: 403,
      body: { code: 'pin_incorrect', message: 'PIN 码错误', remaining_attempts: 4 },
    });
    assert.equal(seen[0].method, 'POST');
    assert.deepEqual(JSON.parse(seen[0].body), { purpose: 'verify_pin', 名: '云南' });
    const headers = seen[0].headers as { [name: string]: string };
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers.authorization, 'Bearer t');
    assert.deepEqual(await request({ url: `${base}/text`, method: 'GET', headers: {} }), {
      status: 502,
      body: 'Bad Gateway',
    });
    assert.equal(seen[1].body, '', 'GET sends no body');
    assert.equal((seen[1].headers as { [name: string]: string })['content-type'], undefined);
    assert.deepEqual(await request({ url: `${base}/empty`, method: 'GET', headers: {} }), {
      status: 204,
      body: null,
    });
  } finally {
    server.close();
  }
  // No answer at all: the promise rejects (the client turns that into McertNetworkError).
  await assert.rejects(fetchRequest(fetch)({ url: base, method: 'GET', headers: {} }));
});

/**
 * A loopback server that closes its first connection, without an answer, once a request has
 * arrived on it, and answers every other request: what a client sees when it sends a request on
 * a pooled keep-alive connection the server has just closed. `closeEvery` closes every
 * connection that way. `seen` lists each request as `METHOD path #connection`.
 */
async function closingServer(options: { closeEvery?: boolean } = {}): Promise<{
  base: string;
  seen: string[];
  close(): void;
}> {
  const seen: string[] = [];
  const connections = new Map<Socket, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const connection = connections.get(req.socket);
      seen.push(`${req.method} ${req.url} #${connection}`);
      if (options.closeEvery === true || connection === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  server.on('connection', (socket: Socket) => connections.set(socket, connections.size + 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('fetchRequest sends an idempotent request once more when its connection was closed', async () => {
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    const server = await closingServer();
    try {
      const answer = await fetchRequest(fetch)({
        url: `${server.base}/key-status`,
        method,
        headers: {},
        ...(method === 'PUT' ? { body: { n: 1 } } : {}),
      });
      assert.deepEqual(answer, { status: 200, body: { path: '/key-status' } }, method);
      assert.deepEqual(server.seen, [`${method} /key-status #1`, `${method} /key-status #2`]);
    } finally {
      server.close();
    }
  }
});

test('fetchRequest never sends a POST again, and tries an idempotent request twice at most', async () => {
  const server = await closingServer();
  try {
    const request = fetchRequest(fetch);
    await assert.rejects(
      request({ url: `${server.base}/cosign`, method: 'POST', headers: {}, body: { n: 1 } }),
      TypeError,
    );
    assert.deepEqual(server.seen, ['POST /cosign #1'], 'the POST went out once');
    // The next call is a new request, on a new connection.
    const next = await request({ url: `${server.base}/cosign`, method: 'POST', headers: {} });
    assert.equal(next.status, 200);
  } finally {
    server.close();
  }

  const closing = await closingServer({ closeEvery: true });
  try {
    await assert.rejects(
      fetchRequest(fetch)({ url: `${closing.base}/status`, method: 'GET', headers: {} }),
      TypeError,
    );
    assert.deepEqual(closing.seen, ['GET /status #1', 'GET /status #2']);
  } finally {
    closing.close();
  }

  // Not a network error (the caller's abort): thrown at once, nothing sent again.
  let calls = 0;
  const aborted = fetchRequest(async () => {
    calls += 1;
    throw new DOMException('The operation was aborted.', 'AbortError');
  });
  await assert.rejects(aborted({ url: 'http://127.0.0.1:9/', method: 'GET', headers: {} }), {
    name: 'AbortError',
  });
  assert.equal(calls, 1);
});

test('wxRequest maps wx.request options, answers and failures', async () => {
  const calls: Parameters<WxRequestApi['request']>[0][] = [];
  let answer: (options: Parameters<WxRequestApi['request']>[0]) => void = () => undefined;
  const wx: WxRequestApi = {
    request: (options) => {
      calls.push(options);
      answer(options);
    },
  };
  answer = (o) => o.success({ statusCode: 201, data: { serial: 'ab' } });
  const request = wxRequest(wx, { timeout: 15000 });
  assert.deepEqual(
    await request({
      url: 'https://m/x',
      method: 'POST',
      headers: { Authorization: 'Bearer t' },
      body: { a: 1 },
    }),
    { status: 201, body: { serial: 'ab' } },
  );
  assert.equal(calls[0].method, 'POST');
  assert.deepEqual(calls[0].data, { a: 1 });
  assert.equal(calls[0].header['Content-Type'], 'application/json');
  assert.equal(calls[0].header.Authorization, 'Bearer t');
  assert.equal(calls[0].dataType, 'json');
  assert.equal(calls[0].timeout, 15000);

  answer = (o) => o.success({ statusCode: 200, data: '' });
  assert.deepEqual(await request({ url: 'https://m/y', method: 'GET', headers: {} }), {
    status: 200,
    body: null,
  });
  assert.equal('data' in calls[1], false, 'GET sends no data');

  answer = (o) => o.success({ statusCode: 500, data: 'not json' });
  assert.deepEqual(
    (await request({ url: 'https://m/z', method: 'GET', headers: {} })).body,
    'not json',
  );

  answer = (o) => o.fail({ errMsg: 'request:fail timeout', errno: 5 });
  await assert.rejects(
    request({ url: 'https://m/t', method: 'GET', headers: {} }),
    (error: unknown) => {
      assert.ok(error instanceof WxApiError);
      assert.equal(error.message, 'request:fail timeout');
      assert.equal(error.errno, 5);
      return true;
    },
  );
});

test('memoryStorage stores, removes and snapshots strings', async () => {
  const storage = memoryStorage({ a: '1' });
  assert.equal(await storage.get('a'), '1');
  assert.equal(await storage.get('b'), null);
  await storage.set('b', '');
  assert.equal(await storage.get('b'), '', 'the empty string is a value');
  await storage.remove('a');
  assert.equal(await storage.get('a'), null);
  assert.deepEqual(storage.snapshot(), { b: '' });
});

test('wxStorage wraps wx.getStorage/setStorage/removeStorage, missing keys are null', async () => {
  const data = new Map<string, unknown>();
  const encryptFlags: (boolean | undefined)[] = [];
  const wx: WxStorageApi = {
    getStorage: (o) => {
      encryptFlags.push(o.encrypt);
      if (data.has(o.key)) o.success({ data: data.get(o.key) });
      else o.fail({ errMsg: 'getStorage:fail data not found' });
    },
    setStorage: (o) => {
      encryptFlags.push(o.encrypt);
      if (o.key === 'full') o.fail({ errMsg: 'setStorage:fail exceed storage max size 10MB' });
      else {
        data.set(o.key, o.data);
        o.success({});
      }
    },
    removeStorage: (o) => {
      data.delete(o.key);
      o.success({});
    },
  };
  const storage = wxStorage(wx, { encrypt: true });
  assert.equal(await storage.get('k'), null);
  await storage.set('k', '{"x":1}');
  assert.equal(await storage.get('k'), '{"x":1}');
  await storage.remove('k');
  assert.equal(await storage.get('k'), null);
  assert.ok(encryptFlags.every((flag) => flag === true));
  await assert.rejects(storage.set('full', 'x'), /exceed storage max size/);
  data.set('object', { not: 'a string' });
  await assert.rejects(storage.get('object'), TypeError);
  const plain = wxStorage(wx);
  await plain.set('p', 'v');
  assert.equal(encryptFlags[encryptFlags.length - 1], undefined);
});

test('wxEntropy turns wx.getRandomValues ArrayBuffers into bytes and checks them', async () => {
  let mode: 'ok' | 'short' | 'zero' | 'fail' = 'ok';
  const wx: WxRandomApi = {
    getRandomValues: (o) => {
      if (mode === 'fail') return o.fail({ errMsg: 'getRandomValues:fail' });
      const bytes = new Uint8Array(mode === 'short' ? o.length - 1 : o.length);
      if (mode === 'ok') webcrypto.getRandomValues(bytes);
      o.success({ randomValues: bytes.buffer });
    },
  };
  const entropy = wxEntropy(wx);
  const bytes = await entropy(64);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.length, 64);
  mode = 'short';
  await assert.rejects(entropy(64), RangeError);
  mode = 'zero';
  await assert.rejects(entropy(64), /constant bytes/);
  mode = 'fail';
  await assert.rejects(entropy(64), WxApiError);
});

test('webCryptoEntropy fills any length, past the 65536-byte quota per call', async () => {
  const entropy = webCryptoEntropy(webcrypto);
  const a = await entropy(64);
  const b = await entropy(64);
  assert.equal(a.length, 64);
  assert.notDeepEqual(a, b);
  const big = await entropy(200_000);
  assert.equal(big.length, 200_000);
  assert.ok(
    big.subarray(150_000).some((x) => x !== 0),
    'the tail is filled too',
  );
  const broken = webCryptoEntropy({ getRandomValues: (array) => array });
  await assert.rejects(broken(32), /constant bytes/);
});
