// Runs the OpenAI-compatible mock server of the npm package @dwmkerr/mock-llm (pinned in
// package.json) on 127.0.0.1 with an ephemeral port, so the providers' HTTP client is checked
// against a server we did not write. The package's own CLI takes a fixed PORT and prints the
// configured one, so this binds its server through the package's createServer and writes the
// port it got to --ready-file: {"http":"127.0.0.1:PORT","url":"http://127.0.0.1:PORT"}.
// Rules (last match wins): the package's default echo of the last message, and a 500 with an
// OpenAI-style error body when the last message contains "please-fail". The package's templates
// paste the echoed text into JSON unescaped, so a multi-line message (the workflow tools' expert
// requests) cannot be echoed: a last message containing "mock-json-reply" gets a fixed JSON
// analysis instead, and one containing "mock-long-reply" a fixed 24,000-character text (it
// streams for seconds, so a test can cancel in the middle).
import { createRequire } from 'node:module';
import { writeFileSync, renameSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { createServer } = require('@dwmkerr/mock-llm/dist/server.js');
const { getDefaultConfig } = require('@dwmkerr/mock-llm/dist/config.js');

const at = process.argv.indexOf('--ready-file');
if (at < 0 || !process.argv[at + 1]) {
  process.stderr.write('usage: mock_llm_server.mjs --ready-file FILE\n');
  process.exit(2);
}
const readyFile = process.argv[at + 1];

const config = getDefaultConfig();
config.streaming = { chunkSize: 4, chunkIntervalMs: 2 };
config.rules.push({
  path: '/v1/chat/completions',
  method: 'POST',
  match: "contains(body.messages[-1].content, 'please-fail')",
  response: {
    status: 500,
    content: '{"error":{"message":"mock failure on request","type":"server_error","code":"mock_500"}}',
  },
});

const fixed = (marker, text) => ({
  path: '/v1/chat/completions',
  method: 'POST',
  match: `contains(body.messages[-1].content, '${marker}')`,
  response: {
    status: 200,
    content: JSON.stringify({ id: 'chatcmpl-fixed', object: 'chat.completion', model: 'mock',
                              choices: [{ message: { role: 'assistant', content: text }, finish_reason: 'stop' }] }),
  },
});
config.rules.push(fixed('mock-json-reply', JSON.stringify({
  analysis: 'reviewed by mock-llm', key_findings: [], recommendations: ['add a guard'], confidence: 'high',
  needs_more_info: false, additional_context: null })));
config.rules.push(fixed('mock-long-reply', 'a long answer '.repeat(1700)));

const app = createServer(config, '127.0.0.1', 0);
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const hp = `127.0.0.1:${port}`;
  writeFileSync(`${readyFile}.tmp`, JSON.stringify({ http: hp, url: `http://${hp}` }));
  renameSync(`${readyFile}.tmp`, readyFile);
});
server.on('error', (err) => { process.stderr.write(`${err}\n`); process.exit(1); });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
