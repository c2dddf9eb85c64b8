// A local fake of the Anthropic Messages API for driving the real Claude Code CLI without a model.
//
// Plain Node `http`, streaming Server-Sent Events the way the real API does (message_start,
// content_block_start / content_block_delta / content_block_stop, message_delta, message_stop).
// Scripted per turn, from the conversation it receives, so any number of sessions can share one
// server and a resumed conversation continues where it was:
//   - the newest user message is a prompt containing `create <file> containing <word>`:
//     answer with a `tool_use` of Claude Code's `Bash` tool that writes `<word>` to `<file>`
//     (relative, so in the agent's working directory);
//   - the newest user message is the `tool_result` of such a call: answer with the text
//     `Created <file>: <tool output>` and end the turn;
//   - anything else the agent asks (prompts without the pattern, and any auxiliary request
//     without the Bash tool): a short text answer, `Noted: <prompt>`.
// Every request is recorded (method, url, headers, parsed body) in `requests`.
//
// Usage: const api = await startFakeAnthropic({ host: '127.0.0.1' }); ... api.url ... await api.close();
// Command line (examples/claude-code.mjs, by hand): node fake-anthropic.mjs [port] — prints the URL.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export const PROMPT_PATTERN = /create (\S+) containing (\S+)/;

/** Text of a message's content (string or blocks), tool results excluded. */
function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b) => b?.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

function toolResultOf(message) {
  if (message?.role !== 'user' || !Array.isArray(message.content)) return undefined;
  return message.content.find((b) => b?.type === 'tool_result');
}

function toolResultText(block) {
  if (typeof block.content === 'string') return block.content;
  if (Array.isArray(block.content)) return block.content.map((c) => c.text ?? '').join('');
  return '';
}

/** Finds the tool_use (in the assistant messages) that a tool_result answers. */
function toolUseFor(messages, id) {
  for (const m of messages) {
    if (m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    const use = m.content.find((b) => b?.type === 'tool_use' && b.id === id);
    if (use) return use;
  }
  return undefined;
}

/** The prompt text of the newest user message that is not only tool results. */
function latestPrompt(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== 'user') continue;
    const text = textOf(m.content);
    // Claude Code wraps context in <system-reminder> blocks; the prompt is the rest.
    const stripped = text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim();
    if (stripped) return stripped;
  }
  return '';
}

/** Decides the reply: `{ kind: 'tool_use', name, input }` or `{ kind: 'text', text }`. */
export function scriptedReply(body) {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const hasBash = Array.isArray(body?.tools) && body.tools.some((t) => t?.name === 'Bash');
  const last = messages.at(-1);
  const result = toolResultOf(last);
  if (hasBash && result) {
    const use = toolUseFor(messages, result.tool_use_id);
    const file = use?.input?.command?.match(/> (\S+)/)?.[1] ?? 'the file';
    return { kind: 'text', text: `Created ${file}: ${toolResultText(result).trim() || 'ok'}` };
  }
  const prompt = latestPrompt(messages);
  const match = hasBash ? prompt.match(PROMPT_PATTERN) : null;
  if (match) {
    const [, file, word] = match;
    return {
      kind: 'tool_use',
      name: 'Bash',
      input: { command: `printf '%s\\n' ${word} > ${file} && cat ${file} && pwd`, description: `Write ${file}` },
    };
  }
  return { kind: 'text', text: `Noted: ${prompt.slice(0, 200)}` };
}

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function streamReply(res, model, reply) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': `req_fake_${randomUUID()}`,
  });
  const id = `msg_fake_${randomUUID().replaceAll('-', '')}`;
  sse(res, 'message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  });
  sse(res, 'ping', { type: 'ping' });
  if (reply.kind === 'tool_use') {
    const json = JSON.stringify(reply.input);
    sse(res, 'content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: `toolu_fake_${randomUUID().replaceAll('-', '')}`, name: reply.name, input: {} },
    });
    // Split the input like the real API does (partial JSON fragments).
    const mid = Math.floor(json.length / 2);
    for (const part of [json.slice(0, mid), json.slice(mid)]) {
      sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: part } });
    }
  } else {
    sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    const words = reply.text.split(/(?<= )/);
    for (const w of words) {
      sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } });
    }
  }
  sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: reply.kind === 'tool_use' ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: 12 },
  });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

function jsonReply(res, model, reply) {
  const content =
    reply.kind === 'tool_use'
      ? [{ type: 'tool_use', id: `toolu_fake_${randomUUID().replaceAll('-', '')}`, name: reply.name, input: reply.input }]
      : [{ type: 'text', text: reply.text }];
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: `msg_fake_${randomUUID().replaceAll('-', '')}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: reply.kind === 'tool_use' ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 25, output_tokens: 12 },
    }),
  );
}

/**
 * Starts the fake API. `host` defaults to 127.0.0.1 (a microVM reaches the host's loopback as
 * `host.microsandbox.internal`), `port` to a free one.
 */
export async function startFakeAnthropic({ host = '127.0.0.1', port = 0 } = {}) {
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
      if (req.method === 'POST' && path === '/v1/messages') {
        const reply = scriptedReply(body);
        const model = typeof body?.model === 'string' ? body.model : 'claude-fake';
        return body?.stream ? streamReply(res, model, reply) : jsonReply(res, model, reply);
      }
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ input_tokens: 25 }));
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `fake API: no ${req.method} ${path}` } }));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address().port;
  return {
    port: bound,
    /** Base URL on the host itself. */
    url: `http://${host}:${bound}`,
    requests,
    /** The `/v1/messages` requests of the agent loop (the ones offering the Bash tool). */
    agentRequests: () =>
      requests.filter((r) => r.url.startsWith('/v1/messages') && Array.isArray(r.body?.tools) && r.body.tools.some((t) => t?.name === 'Bash')),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const api = await startFakeAnthropic({ port: Number(process.argv[2] ?? 0) });
  console.log(api.url);
  process.on('SIGINT', () => api.close().then(() => process.exit(0)));
}
