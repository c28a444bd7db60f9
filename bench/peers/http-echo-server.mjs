// The official TypeScript SDK's own Streamable HTTP server with one `echo` tool (the peer that
// scripts/bench puts beside exai-gateway's gateway-http scenario, with no gateway in between):
// stateful sessions, JSON replies, on node:http. Usage: node http-echo-server.mjs PORT
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 0);
const sessions = new Map();  // Mcp-Session-Id -> transport

function make_server() {
  const server = new McpServer({ name: 'bench-http-echo', version: '0.1.0' });
  server.tool('echo', 'Returns its text argument unchanged.', { text: z.string() },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
}

async function read_json(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

const http = createServer(async (req, res) => {
  try {
    const sid = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await read_json(req) : undefined;
    let transport = sid ? sessions.get(sid) : undefined;
    if (!transport) {
      if (sid || req.method !== 'POST' || body?.method !== 'initialize') {
        res.writeHead(sid ? 404 : 400).end();
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
      await make_server().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
http.keepAliveTimeout = 60_000;
http.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${http.address().port}/mcp` }) + '\n');
});
