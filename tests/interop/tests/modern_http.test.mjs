// The 2026-07-28 era over the gateway's own Streamable HTTP listener, with raw fetches: stateless
// requests (no Mcp-Session-Id), each modern error with its HTTP status (-32602, -32022, -32021
// -> 400; -32020 header mismatch -> 400; -32601 for initialize, ping and unknown methods -> 404),
// the request's id on every error, subscriptions/listen as an SSE response that closing ends, and
// the legacy session flow beside it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_listening_gateway, watchdog } from '../lib/harness.mjs';

watchdog(50000);

const version = '2026-07-28';
const meta = (extra = {}) => ({
  'io.modelcontextprotocol/protocolVersion': version,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'modern-http', version: '1' },
  ...extra,
});

// A modern POST with the headers the body implies, overridable per test.
async function post(url, id, method, params, headers = {}) {
  const h = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': version,
    'mcp-method': method,
  };
  if (params?.name && (method === 'tools/call')) h['mcp-name'] = params.name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete h[k]; else h[k] = v;
  }
  const res = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, session: res.headers.get('mcp-session-id') };
}

describe('2026-07-28 over streamable http', { timeout: 45000 }, () => {
  let gw;
  before(async () => { gw = await start_listening_gateway(['--tools', 'core,diagnostics,conformance']); });
  after(async () => { await gw?.stop(); });

  it('server/discover without a session, and no session id handed out', async () => {
    const r = await post(gw.http_url, 1, 'server/discover', { _meta: meta() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.id, 1);
    assert.equal(r.body.result.resultType, 'complete');
    assert.deepEqual(r.body.result.supportedVersions, [version]);
    assert.equal(r.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'exai-gateway');
    assert.equal(r.session, null);
  });

  it('tools/list and tools/call statelessly, with the modern shapes', async () => {
    const list = await post(gw.http_url, 2, 'tools/list', { _meta: meta() });
    assert.equal(list.status, 200);
    assert.equal(list.body.result.resultType, 'complete');
    assert.ok(Number.isInteger(list.body.result.ttlMs) && list.body.result.ttlMs >= 0);
    assert.equal(list.body.result.cacheScope, 'public');
    const call = await post(gw.http_url, 'c', 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta() });
    assert.equal(call.status, 200);
    assert.equal(call.body.id, 'c');
    assert.equal(call.body.result.resultType, 'complete');
    assert.equal(call.body.result.content[0].text, 'x');
  });

  it('-32602 and 400 for missing _meta fields', async () => {
    for (const [id, params] of [[10, {}], [11, { _meta: { 'io.modelcontextprotocol/clientCapabilities': {} } }],
      [12, { _meta: { 'io.modelcontextprotocol/protocolVersion': version } }]]) {
      const r = await post(gw.http_url, id, 'server/discover', params);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.id, id);
      assert.equal(r.body.error.code, -32602);
    }
  });

  it('-32022 and 400 for an unsupported version, with the supported list', async () => {
    const r = await post(gw.http_url, 20, 'server/discover', { _meta: meta({ 'io.modelcontextprotocol/protocolVersion': '1999-01-01' }) },
      { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(r.status, 400);
    assert.equal(r.body.id, 20);
    assert.equal(r.body.error.code, -32022);
    assert.deepEqual(r.body.error.data.supported, [version]);
    assert.equal(r.body.error.data.requested, '1999-01-01');
  });

  it('-32020 and 400 when MCP-Protocol-Version, Mcp-Method or Mcp-Name disagree with the body', async () => {
    const cases = [
      ['server/discover', { _meta: meta({ 'io.modelcontextprotocol/protocolVersion': 'v999' }) }, {}],
      ['tools/list', { _meta: meta() }, { 'mcp-protocol-version': undefined }],
      ['tools/list', { _meta: meta() }, { 'mcp-method': 'tools/call' }],
      ['tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta() }, { 'mcp-name': 'other' }],
      ['tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta() }, { 'mcp-name': undefined }],
    ];
    let id = 30;
    for (const [method, params, headers] of cases) {
      const r = await post(gw.http_url, ++id, method, params, headers);
      assert.equal(r.status, 400, `${method} ${JSON.stringify(headers)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.id, id);
      assert.equal(r.body.error.code, -32020, JSON.stringify(r.body));
    }
  });

  it('-32021 and 400 when a tool needs a capability the request did not declare', async () => {
    const r = await post(gw.http_url, 40, 'tools/call', { name: 'test_missing_capability', arguments: {}, _meta: meta() });
    assert.equal(r.status, 400);
    assert.equal(r.body.id, 40);
    assert.equal(r.body.error.code, -32021);
    assert.deepEqual(r.body.error.data.requiredCapabilities, { sampling: {} });
  });

  it('-32601 and 404 for initialize, ping and unknown methods on a modern request', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'no/such/method']) {
      const r = await post(gw.http_url, method, method, { _meta: meta() });
      assert.equal(r.status, 404, `${method}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.id, method);
      assert.equal(r.body.error.code, -32601);
    }
  });

  it('subscriptions/listen: an SSE response opened by the acknowledgement; closing it ends it', async () => {
    const discover = await post(gw.http_url, 40, 'server/discover', { _meta: meta() });
    assert.equal(discover.body.result.capabilities.tools.listChanged, true);
    const gauge = async () => {
      const text = await (await fetch(`http://${gw.admin}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('exai_http_sse_streams '));
      return Number(line?.split(' ').pop() ?? NaN);
    };
    const before = await gauge();
    const abort = new AbortController();
    const res = await fetch(gw.http_url, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': version, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'sub', method: 'subscriptions/listen',
        params: { _meta: meta(), notifications: { toolsListChanged: true, resourcesListChanged: true } } }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const reader = res.body.getReader();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const ack = JSON.parse(text.split('\n').find((l) => l.startsWith('data:')).slice(5));
    assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
    assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub');
    assert.deepEqual(ack.params.notifications, { toolsListChanged: true });
    assert.equal(await gauge(), before + 1, 'the listen holds its response stream open');
    abort.abort();
    const end = Date.now() + 5000;
    while ((await gauge()) !== before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await gauge(), before, 'closing the response stream ends the listen');
    // The gateway serves on as before.
    assert.equal((await post(gw.http_url, 41, 'tools/list', { _meta: meta() })).status, 200);
  });

  it('a legacy initialize on the same endpoint still opens a session', async () => {
    const r = await post(gw.http_url, 1, 'initialize', {
      protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'legacy', version: '1' },
    }, { 'mcp-protocol-version': undefined, 'mcp-method': undefined });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.protocolVersion, '2025-11-25');
    assert.ok(r.session, 'a legacy session id');
  });
});
