// The official TypeScript SDK client calling the model tools of `exai-gateway --stdio` (as Claude
// Code would), with GLM pointed at the OpenAI-compatible mock server of the npm package
// @dwmkerr/mock-llm (lib/mock_llm_server.mjs, plain HTTP): a client and a model server that we
// did not write, around our chat (issue 13).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { gateway_bin, gateway_env, watchdog, with_timeout, text_of } from '../lib/harness.mjs';
import * as s from '../lib/mcp_scenarios.mjs';
import { start_mock_llm } from '../lib/mock_llm.mjs';

watchdog(50000);

describe('sdk over stdio: chat against @dwmkerr/mock-llm', { timeout: 45000 }, () => {
  let mock, ctx, err = '';
  before(async () => {
    mock = await start_mock_llm();
    const env = gateway_env();
    for (const k of ['ZHIPUAI_API_KEY', 'KIMI_API_KEY', 'MOONSHOT_API_KEY', 'MINIMAX_M2_KEY', 'MINIMAX_API_KEY']) delete env[k];
    const t = new StdioClientTransport({
      command: gateway_bin(),
      args: ['--stdio', '--log-level', 'debug'],  // the default profiles: core and models
      env: { ...env, GLM_API_KEY: 'interop-key', GLM_API_URL: `${mock.url}/v1` },
      stderr: 'pipe',
    });
    t.stderr?.on('data', d => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
    ctx = await s.connect_client(t, 'interop-sdk-chat');
  });
  after(async () => {
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    mock?.stop();
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors), [], `SDK protocol errors; gateway stderr tail:\n${err.slice(-4000)}`);
  });

  it('tools/list offers chat and challenge by default', async () => {
    const { tools } = await ctx.client.listTools(undefined, { timeout: 10000 });
    const names = tools.map(t => t.name);
    for (const want of ['chat', 'challenge', 'listmodels', 'status', 'version']) assert.ok(names.includes(want), `${want} in ${names}`);
    const chat = tools.find(t => t.name === 'chat');
    assert.deepEqual(chat.inputSchema.required, ['prompt']);
    assert.match(chat.inputSchema.properties.model.description, /glm-4\.5-flash/);
  });

  it('chat streams progress and answers with a continuation offer; the thread continues', async () => {
    const progress = [];
    const res = await ctx.client.callTool({ name: 'chat', arguments: { prompt: 'hello from the interop test', use_websearch: false } },
                                           undefined, { timeout: 30000, onprogress: p => progress.push(p) });
    assert.ok(!res.isError, `chat failed: ${text_of(res)}\nstderr tail:\n${err.slice(-3000)}`);
    const doc = JSON.parse(text_of(res));
    assert.equal(doc.status, 'continuation_available');
    assert.match(doc.content, /hello from the interop test/);  // mock-llm echoes the last message
    assert.equal(doc.metadata.provider_used, 'glm');
    assert.ok(progress.length >= 1, 'no progress notification while the answer streamed');
    assert.match(progress.at(-1).message ?? '', /glm-4\.5-flash is answering/);

    const again = await ctx.client.callTool({ name: 'chat', arguments: { prompt: 'second turn', continuation_id: doc.continuation_offer.continuation_id } },
                                             undefined, { timeout: 30000 });
    const doc2 = JSON.parse(text_of(again));
    assert.equal(doc2.continuation_offer.continuation_id, doc.continuation_offer.continuation_id);
    assert.equal(doc2.continuation_offer.remaining_turns, 18);
  });

  it('challenge, listmodels and status answer without a model call', async () => {
    const ch = JSON.parse(text_of(await ctx.client.callTool({ name: 'challenge', arguments: { prompt: 'It is always the cache.' } })));
    assert.equal(JSON.parse(ch.content).original_statement, 'It is always the cache.');
    const lm = await ctx.client.callTool({ name: 'listmodels', arguments: {} });
    assert.ok(lm.structuredContent.models.includes('glm-4.6'));
    assert.ok(!JSON.stringify(lm).includes('interop-key'), 'a key in the listmodels result');
    const st = await ctx.client.callTool({ name: 'status', arguments: {} });
    assert.deepEqual(st.structuredContent.providers_configured, ['glm']);
    assert.equal(st.structuredContent.sessions, 1);
  });
});
