// A local fake of the OpenAI Responses API for driving the real Codex CLI without a model.
//
// Plain Node `http`, streaming Server-Sent Events the way the real API does (response.created,
// response.in_progress, response.output_item.added, the item's deltas, response.output_item.done,
// response.completed with usage). Scripted per request, from the input it receives, so any number
// of sessions share one server and a resumed conversation continues where it was:
//   - the newest input item is the output of a shell call: answer with the text
//     `Created <file>: <tool output>`;
//   - the newest user message contains `create <file> containing <word>` and the request offers a
//     shell tool: call it with a command that writes `<word>` to `<file>` (relative, so in the
//     agent's working directory);
//   - anything else: a short text answer, `Noted: <prompt>`.
// Codex offers its shell under one of several names depending on its version and the model's
// family: the call uses whichever the request lists. Every request is recorded in `requests`.
//
// Usage: const api = await startFakeOpenAI({ host: '127.0.0.1' }); ... api.url ... await api.close();
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { PROMPT_PATTERN } from './fake-anthropic.mjs';

const id = (prefix) => `${prefix}_fake_${randomUUID().replaceAll('-', '')}`;

/** Text of a Responses input message's content (string or parts). */
function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('\n');
}

/** The newest user message's text that carries a prompt (Codex adds context messages of its own). */
function latestPrompt(input) {
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i];
    if (item?.type !== undefined && item.type !== 'message') continue;
    if (item?.role !== 'user') continue;
    const text = textOf(item.content).trim();
    if (text && !text.startsWith('<environment_context>') && !text.startsWith('<user_instructions>')) return text;
  }
  return '';
}

const OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);
const outputText = (output) => (typeof output === 'string' ? output : textOf(output?.content ?? output));

/** The shell tool the request offers, by the shape its arguments take. */
function shellToolOf(tools) {
  const names = new Set((tools ?? []).map((t) => t?.name ?? t?.type));
  if (names.has('shell_command')) return { name: 'shell_command', args: (cmd) => ({ command: cmd }) };
  if (names.has('shell')) return { name: 'shell', args: (cmd) => ({ command: ['bash', '-lc', cmd] }) };
  if (names.has('exec_command')) return { name: 'exec_command', args: (cmd) => ({ cmd }) };
  return undefined;
}

/** Decides the reply: `{ kind: 'call', name, args }` or `{ kind: 'text', text }`. */
export function scriptedResponse(body) {
  const input = Array.isArray(body?.input) ? body.input : [];
  const last = input.at(-1);
  if (OUTPUT_TYPES.has(last?.type)) {
    const call = input.find((item) => item?.call_id === last.call_id && !OUTPUT_TYPES.has(item.type));
    const file = String(call?.arguments ?? '').match(/> (\S+?)(?:\\| |"|$)/)?.[1] ?? 'the file';
    return { kind: 'text', text: `Created ${file}: ${outputText(last.output).trim() || 'ok'}` };
  }
  const prompt = latestPrompt(input);
  const shell = shellToolOf(body?.tools);
  const match = shell ? prompt.match(PROMPT_PATTERN) : null;
  if (match) {
    const [, file, word] = match;
    return { kind: 'call', name: shell.name, args: shell.args(`printf '%s\\n' ${word} > ${file} && cat ${file} && pwd`) };
  }
  return { kind: 'text', text: `Noted: ${prompt.slice(0, 200)}` };
}

function streamResponse(res, model, reply) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': id('req'),
  });
  let sequence = 0;
  const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  const response = { id: id('resp'), object: 'response', created_at: Math.floor(Date.now() / 1000), model, status: 'in_progress', output: [] };
  send('response.created', { response });
  send('response.in_progress', { response });
  let item;
  if (reply.kind === 'call') {
    const args = JSON.stringify(reply.args);
    item = { id: id('fc'), type: 'function_call', status: 'in_progress', name: reply.name, call_id: id('call'), arguments: '' };
    send('response.output_item.added', { output_index: 0, item });
    // Split the arguments like the real API does (partial JSON fragments).
    const mid = Math.floor(args.length / 2);
    for (const delta of [args.slice(0, mid), args.slice(mid)]) {
      send('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta });
    }
    send('response.function_call_arguments.done', { item_id: item.id, output_index: 0, arguments: args });
    item = { ...item, status: 'completed', arguments: args };
  } else {
    item = { id: id('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    send('response.output_item.added', { output_index: 0, item });
    const part = { type: 'output_text', text: '', annotations: [] };
    send('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part });
    for (const delta of reply.text.split(/(?<= )/)) {
      send('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta });
    }
    const done = { ...part, text: reply.text };
    send('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text: reply.text });
    send('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: done });
    item = { ...item, status: 'completed', content: [done] };
  }
  send('response.output_item.done', { output_index: 0, item });
  const usage = {
    input_tokens: 25,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 12,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 37,
  };
  send('response.completed', { response: { ...response, status: 'completed', output: [item], usage } });
  res.end();
}

/**
 * Starts the fake API. `host` defaults to 127.0.0.1 (a microVM reaches the host's loopback as
 * `host.microsandbox.internal`), `port` to a free one. Serves `POST …/responses` under any prefix
 * (Codex appends `/responses` to its provider's base URL).
 */
export async function startFakeOpenAI({ host = '127.0.0.1', port = 0 } = {}) {
  /** @type {Array<{ method: string, url: string, headers: Record<string, string | string[] | undefined>, body: any, at: number }>} */
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      requests.push({ method: req.method, url: req.url, headers: req.headers, body, at: Date.now() });
      const path = new URL(req.url, 'http://fake').pathname;
      if (req.method === 'POST' && path.endsWith('/responses')) {
        return streamResponse(res, typeof body?.model === 'string' ? body.model : 'gpt-fake', scriptedResponse(body));
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: `fake API: no ${req.method} ${path}` } }));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address().port;
  return {
    port: bound,
    url: `http://${host}:${bound}`,
    requests,
    /** The `/responses` requests of the agent loop (the ones offering a shell tool). */
    agentRequests: () => requests.filter((r) => r.url.endsWith('/responses') && shellToolOf(r.body?.tools) !== undefined),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
