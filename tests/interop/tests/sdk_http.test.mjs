// The official TypeScript SDK client over Streamable HTTP (StreamableHTTPClientTransport) and the
// 2024-11-05 HTTP+SSE transport (SSEClientTransport) against `exai-gateway --listen 127.0.0.1:0`,
// which serves both on its WebSocket port; plus raw fetches for what the SDK does not exercise
// (tampered and ended session ids, a dropped response stream, a second replica).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { start_listening_gateway, watchdog, with_timeout, text_of } from '../lib/harness.mjs';
import * as s from '../lib/mcp_scenarios.mjs';

watchdog(80000);

const secret = 'interop-shared-secret-' + Math.random().toString(36).slice(2);
const accept = 'application/json, text/event-stream';

async function post(url, body, headers = {}) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept, ...headers }, body: JSON.stringify(body) });
}

async function metric(admin, name) {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) total += Number(line.split(' ').pop());
  }
  return total;
}

describe('sdk over streamable http', { timeout: 70000 }, () => {
  let gw, ctx;
  before(async () => {
    gw = await start_listening_gateway(['--tools', 'core,diagnostics', '--log-level', 'debug'],
      { EXAI_GATEWAY_SESSION_SECRET: secret });
    ctx = await s.connect_client(new StreamableHTTPClientTransport(new URL(gw.http_url)), 'interop-sdk-http');
  });
  after(async () => {
    // Closing aborts the SDK's own GET stream, which it reports as an error: only what came
    // before the close counts.
    const closing_at = Date.now();
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-4000);
    await gw?.stop();
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors.filter(e => e.at < closing_at)), [], `SDK protocol errors; gateway stderr tail:\n${tail}`);
    if (gw) assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
  });

  it('initialize: serverInfo, negotiated version and a session id', () => {
    s.check_initialize(ctx);
    assert.match(ctx.tap.sessionId ?? '', /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });
  it('tools/list: diagnostics tools with object input schemas', () => s.check_list_tools(ctx));
  it('tools/call echo returns the text', () => s.check_echo(ctx));
  it('unknown tool is -32602', () => s.check_unknown_tool(ctx));
  it('progress notifications arrive on the POST stream, increasing, token verbatim', () => s.check_progress(ctx));
  it('abort via AbortSignal: cancelled sent, nothing comes back, session healthy', () => s.check_abort(ctx));
  it('SDK timeout: RequestTimeout on the client, nothing comes back, session healthy', () => s.check_client_timeout(ctx));
  it('20 concurrent callTool on one session each get their own answer', () => s.check_concurrent(ctx));
  it('10 SDK clients x 10 concurrent calls, each gets its own answers',
    () => s.check_many_clients(() => new StreamableHTTPClientTransport(new URL(gw.http_url)), 10, 10));

  it('HTTP errors: 404 path, 405 with Allow, 406, 415, 400 bad JSON, 400 missing session', async () => {
    let r = await post(gw.http_url.replace('/mcp', '/nope'), {});
    assert.equal(r.status, 404);
    r = await fetch(gw.http_url, { method: 'PUT' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, POST, DELETE');
    r = await post(gw.http_url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { accept: 'application/json' });
    assert.equal(r.status, 406);
    r = await fetch(gw.http_url, { method: 'POST', headers: { 'content-type': 'text/plain', accept }, body: '{}' });
    assert.equal(r.status, 415);
    r = await fetch(gw.http_url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: '{oops' });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, -32700);
    r = await post(gw.http_url, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(r.status, 400);
    r = await post(gw.http_url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
  });

  it('a tampered session id is 404; a wrong protocol version header is 400', async () => {
    const sid = ctx.tap.sessionId;
    const flipped = sid.slice(0, 5) + (sid[5] === 'A' ? 'B' : 'A') + sid.slice(6);
    let r = await post(gw.http_url, { jsonrpc: '2.0', id: 'x', method: 'ping' }, { 'mcp-session-id': flipped });
    assert.equal(r.status, 404);
    r = await post(gw.http_url, { jsonrpc: '2.0', id: 'x', method: 'ping' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(r.status, 400);
    r = await post(gw.http_url, { jsonrpc: '2.0', id: 'x', method: 'ping' }, { 'mcp-session-id': sid });
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).result, {});
  });

  it('closing a POST response stream cancels its call', async () => {
    const sid = ctx.tap.sessionId;
    const before = await metric(gw.admin, 'exai_client_cancels_total');
    const ac = new AbortController();
    const pending = post(gw.http_url, { jsonrpc: '2.0', id: 'drop-1', method: 'tools/call',
      params: { name: 'delay', arguments: { ms: 5000, progress_every_ms: 100 }, _meta: { progressToken: 'drop' } } },
      { 'mcp-session-id': sid }).then(async r => { const rd = r.body.getReader(); await rd.read(); ac.abort(); rd.cancel().catch(() => {}); });
    await with_timeout(pending, 5000, 'first progress event');
    const got = await (async () => {
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        const n = await metric(gw.admin, 'exai_client_cancels_total');
        if (n > before) return n;
        await sleep(50);
      }
      return before;
    })();
    assert.ok(got > before, 'the gateway did not cancel the call whose stream was closed');
  });

  it('a second gateway sharing the secret accepts the sealed id; another secret does not', async () => {
    const gw2 = await start_listening_gateway(['--tools', 'core,diagnostics'], { EXAI_GATEWAY_SESSION_SECRET: secret });
    const gw3 = await start_listening_gateway(['--tools', 'core,diagnostics'], { EXAI_GATEWAY_SESSION_SECRET: secret + 'x' });
    try {
      const sid = ctx.tap.sessionId;
      // The SDK skips initialize when its transport already has a session id (reconnect).
      const t = new StreamableHTTPClientTransport(new URL(gw2.http_url), { sessionId: sid });
      const c = new Client({ name: 'interop-reconnect', version: '1.0.0' }, { capabilities: {} });
      await with_timeout(c.connect(t), 10000, 'reconnect');
      const res = await c.callTool({ name: 'echo', arguments: { text: 'on-replica' } }, undefined, { timeout: 10000 });
      assert.equal(text_of(res), 'on-replica');
      await c.close();
      const r = await post(gw3.http_url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': sid });
      assert.equal(r.status, 404);
    } finally {
      await gw2.stop();
      await gw3.stop();
    }
  });

  it('session termination: DELETE is 204, then the id is 404', async () => {
    const other = await s.connect_client(new StreamableHTTPClientTransport(new URL(gw.http_url)), 'interop-terminate');
    const sid = other.tap.sessionId;
    await other.tap.inner_.terminateSession();
    const r = await post(gw.http_url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': sid });
    assert.equal(r.status, 404);
    await other.client.close().catch(() => {});
  });

  it('admin metrics count HTTP requests by status and sessions by era', async () => {
    assert.ok(await metric(gw.admin, 'exai_http_requests_total') > 0);
    const text = await (await fetch(`http://${gw.admin}/metrics`)).text();
    assert.match(text, /exai_http_requests_total\{status="404"\}/);
    assert.match(text, /exai_http_sessions\{era="streamable"\} [1-9]/);
    assert.match(text, /exai_http_sse_streams/);
  });
});

describe('sdk over http+sse (2024-11-05)', { timeout: 40000 }, () => {
  let gw, ctx;
  before(async () => {
    gw = await start_listening_gateway(['--tools', 'core,diagnostics', '--log-level', 'debug']);
    ctx = await s.connect_client(new SSEClientTransport(new URL(gw.sse_url)), 'interop-sdk-sse');
  });
  after(async () => {
    // Closing aborts the SDK's own GET stream, which it reports as an error: only what came
    // before the close counts.
    const closing_at = Date.now();
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-4000);
    await gw?.stop();
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors.filter(e => e.at < closing_at)), [], `SDK protocol errors; gateway stderr tail:\n${tail}`);
    if (gw) assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
  });
  it('initialize', () => s.check_initialize(ctx));
  it('tools/list', () => s.check_list_tools(ctx));
  it('tools/call echo', () => s.check_echo(ctx));
  it('progress', () => s.check_progress(ctx));
  it('abort via AbortSignal', () => s.check_abort(ctx));
  it('a POST to an unknown sessionId is 404', async () => {
    const r = await post(gw.sse_url.replace('/sse', '/messages?sessionId=nope'), { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(r.status, 404);
  });
});
