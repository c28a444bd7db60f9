// An op-dialect client (exai-op-protocol.md section 5) on the gateway's WebSocket port, alongside
// an SDK MCP client on the same port at the same time (issue 4, Tests).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { start_listening_gateway, watchdog, with_timeout, text_of } from '../lib/harness.mjs';
import { op_client } from '../lib/op_client.mjs';
import * as s from '../lib/mcp_scenarios.mjs';

globalThis.WebSocket = WebSocket;
watchdog(50000);

const out_text = res => (res.outputs ?? []).filter(o => o.type === 'text').map(o => o.text).join('');

describe('op client on the websocket port', { timeout: 40000 }, () => {
  let gw, op;
  before(async () => {
    gw = await start_listening_gateway(['--tools', 'core,diagnostics', '--log-level', 'debug']);
    op = await op_client.connect(gw.url);
  });
  after(async () => {
    await op?.close();
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-4000);
    await gw?.stop();
    if (gw) assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
  });

  it('hello -> hello_ack ok', async () => {
    op.send({ op: 'hello', token: '', session_id: 'interop-op-1' });
    const ack = await op.take(m => m.op === 'hello_ack', 10000, 'hello_ack');
    assert.equal(ack.ok, true, JSON.stringify(ack));
  });

  it('list_tools -> list_tools_res with its request_id', async () => {
    const res = await op.request({ op: 'list_tools', request_id: 'lt-1' });
    assert.equal(res.op, 'list_tools_res', JSON.stringify(res));
    assert.ok(Array.isArray(res.tools), JSON.stringify(res));
    const echo = res.tools.find(t => t.name === 'echo');
    assert.ok(echo, `echo missing: ${JSON.stringify(res.tools.map(t => t.name))}`);
    assert.equal(typeof echo.inputSchema, 'object');
    assert.ok(res.tools.some(t => t.name === 'delay'));
  });

  it('call_tool echo -> call_tool_res with its request_id', async () => {
    const text = 'op "echo" héllo ✓\nsecond line';
    const res = await op.request({ op: 'call_tool', request_id: 'ct-1', name: 'echo', arguments: { text } });
    assert.equal(res.op, 'call_tool_res', JSON.stringify(res));
    assert.equal(res.error, undefined, JSON.stringify(res));
    assert.equal(out_text(res), text);
  });

  it('tool_call (older variant) echo -> call_tool_res with its request_id', async () => {
    const res = await op.request({ op: 'tool_call', request_id: 'tc-1', tool: { name: 'echo' }, arguments: { text: 'old variant' } });
    assert.equal(res.op, 'call_tool_res', JSON.stringify(res));
    assert.equal(out_text(res), 'old variant');
  });

  it('ping -> pong with its request_id', async () => {
    const res = await op.request({ op: 'ping', request_id: 'p-1' });
    assert.equal(res.op, 'pong', JSON.stringify(res));
  });

  it('unknown tool -> an error carrying op and request_id', async () => {
    const res = await op.request({ op: 'call_tool', request_id: 'ct-unknown', name: 'no_such_tool_xyz', arguments: {} });
    assert.equal(typeof res.op, 'string', `error without op: ${JSON.stringify(res)}`);
    assert.equal(res.request_id, 'ct-unknown');
    assert.equal(typeof res.error, 'object', `no error object: ${JSON.stringify(res)}`);
    assert.ok(res.error && typeof res.error.code === 'string' && res.error.code.length > 0, `error code: ${JSON.stringify(res)}`);
  });

  it('calls in flight together each get a reply with their own request_id', async () => {
    op.send({ op: 'call_tool', request_id: 'slow-1', name: 'delay', arguments: { ms: 400 } });
    op.send({ op: 'call_tool', request_id: 'fast-1', name: 'echo', arguments: { text: 'fast' } });
    const fast = await op.take(m => m.request_id === 'fast-1' && m.op === 'call_tool_res', 10000, 'fast-1');
    const slow = await op.take(m => m.request_id === 'slow-1' && m.op === 'call_tool_res', 10000, 'slow-1');
    assert.equal(out_text(fast), 'fast');
    assert.equal(slow.error, undefined, JSON.stringify(slow));
  });

  it('cancel -> cancelled and no call_tool_res for that request', async () => {
    const t0 = Date.now();
    op.send({ op: 'call_tool', request_id: 'd-cancel', name: 'delay', arguments: { ms: 3000 } });
    await sleep(200);
    const res = await op.request({ op: 'cancel', request_id: 'd-cancel' });
    assert.equal(res.op, 'cancelled', JSON.stringify(res));
    const after = await op.request({ op: 'call_tool', request_id: 'after-cancel', name: 'echo', arguments: { text: 'still here' } });
    assert.equal(out_text(after), 'still here');
    const until = t0 + 3000 + 700;
    if (Date.now() < until) await sleep(until - Date.now());
    const replies = op.all_for('d-cancel').filter(m => m.op === 'call_tool_res');
    assert.equal(replies.length, 0, `call_tool_res after cancel: ${JSON.stringify(replies)}`);
  });

  it('a JSON-RPC message on the op connection is answered in JSON-RPC', async () => {
    op.send({ jsonrpc: '2.0', id: 'mix-1', method: 'ping' });
    const res = await op.take(m => m.id === 'mix-1', 10000, 'JSON-RPC ping reply');
    assert.equal(res.jsonrpc, '2.0');
    assert.deepEqual(res.result, {}, JSON.stringify(res));
  });

  it('an SDK MCP client on the same port at the same time', async () => {
    const mcp = await s.connect_client(new WebSocketClientTransport(new URL(gw.url)), 'interop-op-neighbour');
    try {
      s.check_initialize(mcp);
      // Interleave: an MCP call in flight while the op client works, and the reverse.
      const progress = [];
      const mcp_slow = mcp.client.callTool({ name: 'delay', arguments: { ms: 600, progress_every_ms: 100 } }, undefined,
        { timeout: 10000, onprogress: p => progress.push(p) });
      op.send({ op: 'call_tool', request_id: 'op-slow', name: 'delay', arguments: { ms: 300 } });
      const op_echo = await op.request({ op: 'call_tool', request_id: 'op-during-mcp', name: 'echo', arguments: { text: 'op side' } });
      const mcp_echo = await mcp.client.callTool({ name: 'echo', arguments: { text: 'mcp side' } }, undefined, { timeout: 10000 });
      assert.equal(out_text(op_echo), 'op side');
      assert.equal(text_of(mcp_echo), 'mcp side');
      const slow = await with_timeout(mcp_slow, 10000, 'mcp delay');
      assert.ok(!slow.isError, JSON.stringify(slow));
      assert.ok(progress.length >= 1, 'MCP progress while an op client shares the port');
      const op_slow = await op.take(m => m.request_id === 'op-slow' && m.op === 'call_tool_res', 10000, 'op-slow');
      assert.equal(op_slow.error, undefined, JSON.stringify(op_slow));
      // No dialect crossed over: the MCP client saw only JSON-RPC, the op client's op replies carry op.
      for (const r of mcp.tap.received) assert.equal(r.msg.jsonrpc, '2.0', `non-JSON-RPC message to the MCP client: ${JSON.stringify(r.msg)}`);
      for (const r of op.inbox) {
        if (r.msg.id === 'mix-1') continue;
        assert.equal(typeof r.msg.op, 'string', `op client got a message without op: ${JSON.stringify(r.msg)}`);
        assert.equal(r.msg.jsonrpc, undefined);
      }
      assert.deepEqual(s.protocol_faults(mcp.sdk_errors), []);
    } finally {
      await with_timeout(mcp.client.close(), 5000, 'mcp close').catch(() => {});
    }
  });
});

// With EXAI_GATEWAY_TOKEN set: op clients authenticate with the hello token, MCP clients with
// `Authorization: Bearer` on the upgrade (issue 4, Transports; exai-op-protocol.md sections 1, 2).
describe('client token on the websocket port', { timeout: 30000 }, () => {
  const token = 'interop-token-5c1d';
  let gw;
  before(async () => {
    gw = await start_listening_gateway(['--tools', 'core,diagnostics'], { EXAI_GATEWAY_TOKEN: token });
  });
  after(async () => {
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-4000);
    await gw?.stop();
    if (gw) assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
    if (gw) assert.ok(!tail.includes(token), 'the client token appeared in the gateway log');
  });

  it('op hello with the token -> ok, and calls work', async () => {
    const c = await op_client.connect(gw.url);
    try {
      c.send({ op: 'hello', token, session_id: 'interop-auth-ok' });
      const ack = await c.take(m => m.op === 'hello_ack', 10000, 'hello_ack');
      assert.equal(ack.ok, true, JSON.stringify(ack));
      const res = await c.request({ op: 'call_tool', request_id: 'auth-echo', name: 'echo', arguments: { text: 'authed' } });
      assert.equal(out_text(res), 'authed');
    } finally { await c.close(); }
  });

  it('op hello with a wrong token -> hello_ack ok:false unauthorized, close 4003', async () => {
    const c = await op_client.connect(gw.url);
    c.send({ op: 'hello', token: 'wrong', session_id: 'interop-auth-bad' });
    const ack = await c.take(m => m.op === 'hello_ack', 10000, 'hello_ack');
    assert.equal(ack.ok, false, JSON.stringify(ack));
    assert.equal(ack.error, 'unauthorized', JSON.stringify(ack));
    const closed = await c.wait_closed(5000);
    assert.equal(closed.code, 4003, JSON.stringify(closed));
  });

  it('op first message not hello -> hello_ack ok:false missing_hello, close 4001', async () => {
    const c = await op_client.connect(gw.url);
    c.send({ op: 'list_tools', request_id: 'before-hello' });
    const ack = await c.take(m => m.op === 'hello_ack', 10000, 'hello_ack');
    assert.equal(ack.ok, false, JSON.stringify(ack));
    assert.equal(ack.error, 'missing_hello', JSON.stringify(ack));
    assert.ok(!c.inbox.some(r => r.msg.op === 'list_tools_res'), 'tools were listed without a hello');
    const closed = await c.wait_closed(5000);
    // exai-op-protocol.md section 1: 4001 = first message not hello (4003 is the bad-token code).
    assert.equal(closed.code, 4001, JSON.stringify(closed));
  });

  it('SDK client without a bearer token is refused at the upgrade', async () => {
    const { WebSocketClientTransport: T } = await import('@modelcontextprotocol/sdk/client/websocket.js');
    await assert.rejects(with_timeout(s.connect_client(new T(new URL(gw.url)), 'interop-no-bearer'), 10000, 'refused connect'),
      e => /401|403|Unexpected server response/.test(String(e?.message ?? e)), 'upgrade without a token must be refused (401/403)');
  });

  it('SDK client with Authorization: Bearer works', async () => {
    // The SDK transport uses the global WebSocket (browser API, no headers); a Node user adds
    // the header with a `ws` subclass, as here.
    const plain = globalThis.WebSocket;
    globalThis.WebSocket = class extends WebSocket {
      constructor(url, protocols) { super(url, protocols, { headers: { Authorization: `Bearer ${token}` } }); }
    };
    let mcp;
    try {
      mcp = await s.connect_client(new WebSocketClientTransport(new URL(gw.url)), 'interop-bearer');
    } finally {
      globalThis.WebSocket = plain;
    }
    try {
      s.check_initialize(mcp);
      await s.check_echo(mcp);
      assert.deepEqual(s.protocol_faults(mcp.sdk_errors), []);
    } finally {
      await with_timeout(mcp.client.close(), 5000, 'close').catch(() => {});
    }
  });
});
