'use client';
import { useChat } from '@ai-sdk/react';
import type { UIMessage } from 'ai';
import { useState } from 'react';

type Part = UIMessage['parts'][number];

/** A tool call as useChat gives it: static tools are `tool-<name>`, others `dynamic-tool`. */
function ToolCall({ part }: { part: Part & { state?: string; input?: unknown; output?: unknown } }) {
  const name = part.type === 'dynamic-tool' ? (part as { toolName: string }).toolName : part.type.slice('tool-'.length);
  return (
    <div data-testid="tool-call" style={{ border: '1px solid #ccc', borderRadius: 6, padding: '0.5rem', margin: '0.5rem 0' }}>
      <strong>{name}</strong> <small>{part.state}</small>
      <pre style={{ whiteSpace: 'pre-wrap' }}>{JSON.stringify(part.input, null, 2)}</pre>
      {part.output !== undefined && (
        <pre data-testid="tool-output" style={{ whiteSpace: 'pre-wrap', background: '#f4f4f4' }}>
          {typeof part.output === 'string' ? part.output : JSON.stringify(part.output, null, 2)}
        </pre>
      )}
    </div>
  );
}

export function Chat({ id, initialMessages }: { id: string; initialMessages: UIMessage[] }) {
  const { messages, sendMessage, status, error } = useChat({ id, messages: initialMessages });
  const [input, setInput] = useState('');
  return (
    <main>
      <h1>Agent in a microVM</h1>
      {messages.map((m) => (
        <div key={m.id} data-testid={`message-${m.role}`} style={{ margin: '1rem 0' }}>
          <b>{m.role === 'user' ? 'You' : 'Agent'}</b>
          {m.parts.map((part, i) =>
            part.type === 'text' ? (
              <p key={i} data-testid="text">{part.text}</p>
            ) : part.type.startsWith('tool-') || part.type === 'dynamic-tool' ? (
              <ToolCall key={i} part={part} />
            ) : null,
          )}
        </div>
      ))}
      {error && <p role="alert">{error.message}</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!input.trim()) return;
          sendMessage({ text: input });
          setInput('');
        }}
      >
        <input
          name="prompt"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          placeholder="Ask the agent"
          style={{ width: '80%' }}
        />
        <button type="submit" disabled={status !== 'ready'} data-status={status}>
          Send
        </button>
      </form>
    </main>
  );
}
