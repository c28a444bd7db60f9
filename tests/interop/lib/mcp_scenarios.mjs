// MCP scenarios run by the official TypeScript SDK client against the gateway, shared by the stdio
// and the WebSocket test files. Each takes { client, tap } (an initialized Client and the
// tap_transport under it) and throws on the first failed assertion.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { tap_transport, with_timeout, wait_until, text_of } from './harness.mjs';

// Connects an SDK client over `inner` (a client transport). Protocol errors the SDK reports
// (unparsable lines, responses or progress for unknown ids) are collected in `sdk_errors`.
export async function connect_client(inner, name) {
  const tap = new tap_transport(inner);
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const sdk_errors = [];
  client.onerror = e => sdk_errors.push({ at: Date.now(), message: String(e?.message ?? e) });
  await with_timeout(client.connect(tap), 15000, `${name}: connect + initialize`);
  return { client, tap, sdk_errors };
}

// The SDK's complaints that are real protocol faults. A progress notification for a request the
// client has just cancelled may legitimately be in flight, so those are judged separately.
export function protocol_faults(sdk_errors) {
  return sdk_errors.filter(e => !/progress notification for an unknown token/.test(e.message));
}

export function check_initialize({ client, tap }) {
  const info = client.getServerVersion();
  assert.equal(info?.name, 'exai-gateway', `serverInfo: ${JSON.stringify(info)}`);
  assert.equal(typeof info.version, 'string');
  // The SDK asks for its latest revision; the gateway supports it, so it must answer with it.
  const init_id = tap.last_request_id('initialize');
  const [res] = tap.responses_for(init_id);
  assert.ok(res, 'no initialize response on the wire');
  assert.equal(res.msg.result.protocolVersion, LATEST_PROTOCOL_VERSION);
  assert.ok(client.getServerCapabilities()?.tools, `capabilities without tools: ${JSON.stringify(client.getServerCapabilities())}`);
  assert.ok(tap.sent.some(s => s.msg.method === 'notifications/initialized'), 'SDK did not send notifications/initialized');
}

export async function check_list_tools({ client }) {
  // Follow the opaque cursor: the gateway may paginate (bounded, so a cursor loop fails).
  const tools = [];
  let cursor;
  for (let page = 0; ; page++) {
    assert.ok(page < 50, 'tools/list: more than 50 pages (cursor loop?)');
    const res = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: 10000 });
    tools.push(...res.tools);
    if (!res.nextCursor) break;
    assert.notEqual(res.nextCursor, cursor, 'tools/list returned the same cursor again');
    cursor = res.nextCursor;
  }
  const names = tools.map(t => t.name);
  for (const want of ['status', 'version', 'listmodels', 'echo', 'delay', 'fail', 'blob']) {
    assert.ok(names.includes(want), `tool ${want} missing from ${JSON.stringify(names)}`);
  }
  for (const t of tools) {
    assert.equal(typeof t.inputSchema, 'object', `${t.name}: inputSchema ${JSON.stringify(t.inputSchema)}`);
    assert.notEqual(t.inputSchema, null);
    assert.equal(t.inputSchema.type, 'object', `${t.name}: inputSchema.type`);
  }
}

export async function check_echo({ client }) {
  // Quotes, a newline, non-ASCII and an astral character must all survive both directions.
  const text = 'interop "echo" \\ line1\nline2 héllo ✓ 🙂';
  const res = await client.callTool({ name: 'echo', arguments: { text } }, undefined, { timeout: 10000 });
  assert.ok(!res.isError, `echo isError: ${JSON.stringify(res)}`);
  assert.equal(text_of(res), text);
}

export async function check_fail_is_tool_error({ client }) {
  const res = await client.callTool({ name: 'fail', arguments: { message: 'deliberate failure 42' } }, undefined, { timeout: 10000 });
  assert.equal(res.isError, true, `fail result: ${JSON.stringify(res)}`);
  assert.match(text_of(res), /deliberate failure 42/);
}

export async function check_unknown_tool({ client }) {
  await assert.rejects(
    client.callTool({ name: 'no_such_tool_xyz', arguments: {} }, undefined, { timeout: 10000 }),
    e => e instanceof McpError && e.code === ErrorCode.InvalidParams,
    'unknown tool must be a JSON-RPC -32602 error');
}

export async function check_progress({ client, tap }) {
  const seen = [];
  const res = await client.callTool({ name: 'delay', arguments: { ms: 800, progress_every_ms: 100 } }, undefined,
    { timeout: 10000, onprogress: p => seen.push(p) });
  assert.ok(!res.isError, `delay result: ${JSON.stringify(res)}`);
  assert.ok(seen.length >= 2, `expected several progress notifications, got ${JSON.stringify(seen)}`);
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].progress > seen[i - 1].progress, `progress not increasing: ${JSON.stringify(seen)}`);
  }
  // The token must come back verbatim (same JSON type) and stop once the response is out.
  const id = tap.last_request_id('tools/call');
  const req = tap.sent.find(s => s.msg.id === id);
  const token = req.msg.params._meta.progressToken;
  const [resp] = tap.responses_for(id);
  await sleep(300);
  const notes = tap.received.filter(r => r.msg.method === 'notifications/progress' && r.msg.params?.progressToken === token);
  assert.equal(notes.length, seen.length, 'every progress notification must echo the token verbatim');
  const late = notes.filter(n => n.at > resp.at);
  assert.equal(late.length, 0, `progress after the response: ${JSON.stringify(late.map(n => n.msg))}`);
}

// Shared by abort and client-timeout: after the client gave up on request `id`, the SDK must have
// sent notifications/cancelled, nothing may come back for it, its progress must stop within 2 s (the work
// was really cancelled), and the session must still serve calls.
async function check_cancelled_quietly({ client, tap }, id, started_at, delay_ms) {
  const cancel = tap.sent.find(s => s.msg.method === 'notifications/cancelled' && s.msg.params?.requestId === id);
  assert.ok(cancel, `SDK did not send notifications/cancelled for ${id}`);
  const after = await client.callTool({ name: 'echo', arguments: { text: `after-cancel-${id}` } }, undefined, { timeout: 10000 });
  assert.equal(text_of(after), `after-cancel-${id}`);
  // Wait past the moment the delay would have finished on its own, plus a margin.
  const until = started_at + delay_ms + 700;
  if (Date.now() < until) await sleep(until - Date.now());
  const answers = tap.responses_for(id);
  assert.equal(answers.length, 0, `a response was sent for cancelled request ${id}: ${JSON.stringify(answers.map(a => a.msg))}`);
  const req = tap.sent.find(s => s.msg.id === id);
  const token = req?.msg.params?._meta?.progressToken;
  if (token !== undefined) {
    const late = tap.received.filter(r => r.msg.method === 'notifications/progress' && r.msg.params?.progressToken === token && r.at > cancel.at + 2000);
    assert.equal(late.length, 0, `progress kept coming >2 s after the cancel (work not stopped): ${late.length} notifications`);
  }
}

export async function check_abort({ client, tap }) {
  const delay_ms = 3000;
  const ac = new AbortController();
  const started_at = Date.now();
  let progressed = 0;
  const call = client.callTool({ name: 'delay', arguments: { ms: delay_ms, progress_every_ms: 100 } }, undefined, {
    timeout: 15000, signal: ac.signal,
    // Abort once the gateway has shown the call is running.
    onprogress: () => { if (++progressed === 1) ac.abort('interop abort'); },
  });
  await with_timeout(assert.rejects(call), 5000, 'abort of delay: callTool should reject promptly (did progress arrive?)');
  assert.equal(progressed, 1);
  const id = tap.last_request_id('tools/call');
  await check_cancelled_quietly({ client, tap }, id, started_at, delay_ms);
}

export async function check_client_timeout({ client, tap }) {
  const delay_ms = 3000;
  const started_at = Date.now();
  await assert.rejects(
    client.callTool({ name: 'delay', arguments: { ms: delay_ms } }, undefined, { timeout: 300 }),
    e => e instanceof McpError && e.code === ErrorCode.RequestTimeout,
    'SDK timeout must surface as McpError RequestTimeout');
  const id = tap.last_request_id('tools/call');
  await check_cancelled_quietly({ client, tap }, id, started_at, delay_ms);
}

// With --call-timeout-ms 300 the gateway itself ends a 5 s delay with a tool error result.
export async function check_server_deadline({ client }) {
  const t0 = Date.now();
  const res = await client.callTool({ name: 'delay', arguments: { ms: 5000 } }, undefined, { timeout: 8000 });
  const took = Date.now() - t0;
  assert.equal(res.isError, true, `expected an isError result from the gateway's deadline, got ${JSON.stringify(res)} after ${took} ms`);
  const text = text_of(res);
  assert.match(text, /delay/, `deadline text must name the tool: ${text}`);
  assert.match(text, /300/, `deadline text must name the budget: ${text}`);
  assert.ok(took < 4500, `deadline result came after ${took} ms, the 300 ms budget was not applied`);
  const after = await client.callTool({ name: 'echo', arguments: { text: 'after-deadline' } }, undefined, { timeout: 10000 });
  assert.equal(text_of(after), 'after-deadline');
}

// 20 calls at once on one session, finishing in an order unlike the sending order.
export async function check_concurrent({ client, tap }) {
  const first_new = tap.sent.length;
  const calls = [];
  for (let i = 0; i < 20; i++) {
    if (i % 2 === 0) {
      calls.push(client.callTool({ name: 'delay', arguments: { ms: (20 - i) * 25 } }, undefined, { timeout: 15000 })
        .then(r => ({ i, kind: 'delay', r })));
    } else {
      calls.push(client.callTool({ name: 'echo', arguments: { text: `concurrent-${i}` } }, undefined, { timeout: 15000 })
        .then(r => ({ i, kind: 'echo', r })));
    }
  }
  const results = await with_timeout(Promise.all(calls), 20000, '20 concurrent calls');
  for (const { i, kind, r } of results) {
    assert.ok(!r.isError, `call ${i} (${kind}) isError: ${JSON.stringify(r)}`);
    if (kind === 'echo') assert.equal(text_of(r), `concurrent-${i}`);
  }
  // Exactly one response per request on the wire.
  const ids = tap.sent.slice(first_new).filter(s => s.msg.method === 'tools/call').map(s => s.msg.id);
  assert.equal(ids.length, 20);
  for (const id of ids) assert.equal(tap.responses_for(id).length, 1, `responses for ${id}`);
  // Echo answers should not all be behind the slow delays (they ran concurrently, not serially).
  const order = tap.received.filter(r => ids.includes(r.msg.id)).map(r => r.msg.id);
  const first_delay_id = ids[0]; // the slowest delay (500 ms), sent first
  assert.notEqual(order[0], first_delay_id, 'the first-sent slowest call was answered first: calls look serialised');
}

// A large result arrives whole: one message whose text has exactly the requested size.
export async function check_blob({ client, tap }, bytes) {
  const res = await client.callTool({ name: 'blob', arguments: { bytes } }, undefined, { timeout: 15000 });
  assert.ok(!res.isError, `blob isError: ${JSON.stringify(res).slice(0, 500)}`);
  assert.equal(Buffer.byteLength(text_of(res), 'utf8'), bytes);
  assert.equal(tap.responses_for(tap.last_request_id('tools/call')).length, 1);
}

// Many SDK clients on one gateway, all calling at once. Every SDK client numbers its requests
// from 0, so the ids collide across connections by construction; each must get its own answers.
export async function check_many_clients(make_transport, clients, calls_each) {
  const conns = await Promise.all(Array.from({ length: clients }, (_, c) => connect_client(make_transport(), `interop-many-${c}`)));
  try {
    const all = [];
    for (let c = 0; c < clients; c++) {
      for (let i = 0; i < calls_each; i++) {
        const want = `client-${c}-call-${i}`;
        all.push(conns[c].client.callTool({ name: 'echo', arguments: { text: want } }, undefined, { timeout: 20000 })
          .then(r => { assert.ok(!r.isError, JSON.stringify(r)); assert.equal(text_of(r), want); }));
      }
    }
    await with_timeout(Promise.all(all), 25000, `${clients * calls_each} calls from ${clients} clients`);
    for (const k of conns) {
      const ids = k.tap.sent.filter(s => s.msg.method === 'tools/call').map(s => s.msg.id);
      assert.equal(ids.length, calls_each);
      for (const id of ids) assert.equal(k.tap.responses_for(id).length, 1, `responses for id ${id}`);
      assert.deepEqual(protocol_faults(k.sdk_errors), []);
    }
  } finally {
    await Promise.all(conns.map(k => with_timeout(k.client.close(), 5000, 'close').catch(() => {})));
  }
}

export { wait_until };
