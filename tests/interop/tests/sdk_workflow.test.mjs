// The official TypeScript SDK client running the workflow tools of `exai-gateway --stdio` (issue
// 18), with GLM and Kimi pointed at the OpenAI-compatible mock server of @dwmkerr/mock-llm
// (lib/mock_llm_server.mjs, plain HTTP; a marker in the step text picks its fixed JSON or long
// answer): a three-step codereview whose
// expert call streams progress, a consensus over two models of two providers, and a cancel (SDK
// AbortSignal) in the middle of an expert call.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { gateway_bin, gateway_env, watchdog, with_timeout, text_of } from '../lib/harness.mjs';
import * as s from '../lib/mcp_scenarios.mjs';
import { start_mock_llm } from '../lib/mock_llm.mjs';

watchdog(50000);

const step = (text, n, total, more, findings, extra = {}) =>
  ({ step: text, step_number: n, total_steps: total, next_step_required: more, findings, ...extra });

describe('sdk over stdio: workflow tools against @dwmkerr/mock-llm', { timeout: 45000 }, () => {
  let mock, ctx, root, err = '';
  before(async () => {
    mock = await start_mock_llm();
    root = realpathSync(mkdtempSync(join(tmpdir(), 'exai-workflow-root-')));
    writeFileSync(join(root, 'cache.cpp'), 'int evict(int n) { return n - 1; }\n');
    const env = gateway_env();
    for (const k of ['ZHIPUAI_API_KEY', 'MOONSHOT_API_KEY', 'MINIMAX_M2_KEY', 'MINIMAX_API_KEY', 'TOOL_PROFILE',
                     'ENABLED_TOOLS', 'DISABLED_TOOLS', 'EXPERT_ANALYSIS_ENABLED']) delete env[k];
    const t = new StdioClientTransport({
      command: gateway_bin(),
      args: ['--stdio', '--log-level', 'debug'],
      env: { ...env, GLM_API_KEY: 'interop-key', GLM_API_URL: `${mock.url}/v1`,
             KIMI_API_KEY: 'interop-kimi', KIMI_API_URL: `${mock.url}/v1`, EXAI_ALLOWED_ROOTS: root },
      stderr: 'pipe',
    });
    t.stderr?.on('data', d => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
    ctx = await s.connect_client(t, 'interop-sdk-workflow');
  });
  after(async () => {
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    mock?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors), [], `SDK protocol errors; gateway stderr tail:\n${err.slice(-4000)}`);
  });

  it('tools/list offers all fourteen model tools', async () => {
    const { tools } = await ctx.client.listTools(undefined, { timeout: 10000 });
    const names = tools.map(t => t.name);
    for (const want of ['chat', 'challenge', 'analyze', 'codereview', 'debug', 'refactor', 'testgen', 'thinkdeep',
                        'secaudit', 'precommit', 'consensus', 'planner', 'tracer', 'docgen'])
      assert.ok(names.includes(want), `${want} in ${names}`);
    const cr = tools.find(t => t.name === 'codereview');
    assert.ok(cr.inputSchema.required.includes('step_number'));
    assert.deepEqual(cr.inputSchema.properties.review_type.enum, ['full', 'security', 'performance', 'quick']);
  });

  it('codereview: two local steps, then the expert call streams progress', async () => {
    const file = join(root, 'cache.cpp');
    const call = (args, opts = {}) => ctx.client.callTool({ name: 'codereview', arguments: args }, undefined, { timeout: 30000, ...opts });
    const d1 = JSON.parse(text_of(await call(step('Review eviction (mock-json-reply)', 1, 3, true, 'evict takes a count', { relevant_files: [file] }))));
    assert.equal(d1.status, 'next_step_required');
    assert.equal(d1.next_call.arguments.step_number, 2);
    const id = d1.continuation_id;
    const d2 = JSON.parse(text_of(await call(step('Callers', 2, 3, true, 'one caller passes 0',
      { continuation_id: id, issues_found: [{ severity: 'high', description: 'underflow at 0' }] }))));
    assert.equal(d2.code_review_status.issues_found, 1);
    const progress = [];
    const r3 = await call(step('Conclude', 3, 3, false, 'a guard fixes it', { continuation_id: id }), { onprogress: p => progress.push(p) });
    assert.ok(!r3.isError, `final step failed: ${text_of(r3)}\nstderr tail:\n${err.slice(-3000)}`);
    const d3 = JSON.parse(text_of(r3));
    assert.equal(d3.status, 'calling_expert_analysis');
    assert.equal(d3.expert_analysis.analysis, 'reviewed by mock-llm');  // parsed from the model's JSON
    assert.equal(d3.complete_analysis.steps_taken, 3);
    assert.equal(d3.metadata.provider_used, 'glm');
    assert.ok(progress.length >= 1, 'no progress while the expert answered');
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress >= progress[i - 1].progress);
  });

  it('consensus: two models of two providers, one per step', async () => {
    const call = args => ctx.client.callTool({ name: 'consensus', arguments: args }, undefined, { timeout: 30000 });
    const d1 = JSON.parse(text_of(await call(step('Ring buffer instead of LRU? (mock-json-reply)', 1, 2, true, 'simpler but loses recency',
      { models: [{ model: 'glm-4.6', stance: 'for' }, { model: 'kimi-k2', stance: 'against' }] }))));
    assert.equal(d1.status, 'analysis_and_first_model_consulted');
    assert.equal(d1.model_response.metadata.provider, 'glm');
    const d2 = JSON.parse(text_of(await call(step('Noted', 2, 2, false, '', { continuation_id: d1.continuation_id }))));
    assert.equal(d2.status, 'consensus_workflow_complete');
    assert.equal(d2.model_response.metadata.provider, 'kimi');
    assert.deepEqual(d2.complete_consensus.models_consulted, ['glm-4.6:for', 'kimi-k2-0905-preview:against']);
    // A duplicate model+stance is a tool error naming the field.
    const bad = await call(step('x', 1, 2, true, 'y', { models: [{ model: 'glm-4.6' }, { model: 'glm-4.6', stance: 'neutral' }] }));
    assert.ok(bad.isError);
    assert.match(text_of(bad), /models\[1\]/);
  });

  it('a cancel in the middle of the expert call: no answer, progress stops, the session goes on', async () => {
    const { client, tap } = ctx;
    const d1 = JSON.parse(text_of(await client.callTool({ name: 'thinkdeep',
      arguments: step('Is it sound? (mock-long-reply)', 1, 2, true, 'one writer') })));
    const ac = new AbortController();
    let streaming = 0;
    const call = client.callTool({ name: 'thinkdeep', arguments: step('Conclude', 2, 2, false, 'probably', { continuation_id: d1.continuation_id }) },
      undefined, { timeout: 30000, signal: ac.signal,
                   onprogress: p => { if (/characters so far/.test(p.message ?? '') && ++streaming === 1) ac.abort('interop abort'); } });
    await with_timeout(assert.rejects(call), 10000, 'abort of the expert call: callTool should reject');
    const id = tap.last_request_id('tools/call');
    const cancel = tap.sent.find(m => m.msg.method === 'notifications/cancelled' && m.msg.params?.requestId === id);
    assert.ok(cancel, 'SDK did not send notifications/cancelled');
    await sleep(2500);
    assert.equal(tap.responses_for(id).length, 0, 'a response came for the cancelled call');
    const token = tap.sent.find(m => m.msg.id === id)?.msg.params?._meta?.progressToken;
    const late = tap.received.filter(r => r.msg.method === 'notifications/progress' && r.msg.params?.progressToken === token && r.at > cancel.at + 2000);
    assert.equal(late.length, 0, 'progress kept coming after the cancel');
    const again = JSON.parse(text_of(await client.callTool({ name: 'thinkdeep',
      arguments: step('Conclude', 2, 2, false, 'probably', { continuation_id: d1.continuation_id, use_assistant_model: false }) })));
    assert.equal(again.status, 'local_work_complete');
  });
});
