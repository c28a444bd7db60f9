// The official TypeScript SDK client over WebSocket (WebSocketClientTransport, subprotocol "mcp")
// against `exai-gateway --listen 127.0.0.1:0` (issue 4, Tests).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { start_listening_gateway, watchdog, with_timeout } from '../lib/harness.mjs';
import * as s from '../lib/mcp_scenarios.mjs';

// Node 20 has no global WebSocket without a flag; the SDK transport uses the global one. The `ws`
// client refuses an upgrade that does not select the offered "mcp" subprotocol, as browsers do.
globalThis.WebSocket = WebSocket;

watchdog(50000);

describe('sdk over websocket', { timeout: 40000 }, () => {
  let gw, ctx;
  before(async () => {
    gw = await start_listening_gateway(['--tools', 'core,diagnostics', '--log-level', 'debug']);
    ctx = await s.connect_client(new WebSocketClientTransport(new URL(gw.url)), 'interop-sdk-ws');
  });
  after(async () => {
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-4000);
    await gw?.stop();
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors), [], `SDK protocol errors; gateway stderr tail:\n${tail}`);
    if (gw) assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
  });

  it('the upgrade selects the offered subprotocol "mcp"', async () => {
    const ws = new WebSocket(gw.url, 'mcp');
    try {
      await with_timeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 10000, 'upgrade');
      assert.equal(ws.protocol, 'mcp');
    } finally {
      ws.terminate();
    }
  });
  it('initialize: serverInfo and negotiated protocol version', () => s.check_initialize(ctx));
  it('tools/list: diagnostics tools with object input schemas', () => s.check_list_tools(ctx));
  it('tools/call echo returns the text', () => s.check_echo(ctx));
  it('unknown tool is -32602', () => s.check_unknown_tool(ctx));
  it('progress notifications arrive, increasing, with the token verbatim', () => s.check_progress(ctx));
  it('abort via AbortSignal: cancelled sent, nothing comes back, session healthy', () => s.check_abort(ctx));
  it('SDK timeout: RequestTimeout on the client, nothing comes back, session healthy', () => s.check_client_timeout(ctx));
  it('20 concurrent callTool on one connection each get their own answer', () => s.check_concurrent(ctx));
  it('20 SDK clients x 25 concurrent calls, ids colliding across clients, each gets its own answers',
    () => s.check_many_clients(() => new WebSocketClientTransport(new URL(gw.url)), 20, 25));
  it('a second SDK client on the same port is an independent session', async () => {
    const other = await s.connect_client(new WebSocketClientTransport(new URL(gw.url)), 'interop-sdk-ws-2');
    try {
      s.check_initialize(other);
      await s.check_echo(other);
      assert.deepEqual(s.protocol_faults(other.sdk_errors), []);
    } finally {
      await with_timeout(other.client.close(), 5000, 'second client close').catch(() => {});
    }
  });
});
