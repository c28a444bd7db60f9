// A stdio MCP server with one `echo` tool, written with the official TypeScript SDK, so that
// scripts/bench can put supergateway in front of it and compare it with exai-gateway (issue 7).
// It mirrors the daemon's diagnostics `echo {text}` tool: the result is one text block, the text.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'bench-echo', version: '0.1.0' });

server.tool('echo', 'Returns its text argument unchanged.', { text: z.string() },
  async ({ text }) => ({ content: [{ type: 'text', text }] }));

await server.connect(new StdioServerTransport());
