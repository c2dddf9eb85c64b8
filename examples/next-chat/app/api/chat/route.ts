// One chat turn: the chat's agent session (created on its first message, resumed from its saved
// state after that), the newest user message as the prompt, the answer streamed to useChat.
import type { UIMessage } from 'ai';
import { agent } from '../../../lib/agent';
import { isChatId, loadChat, saveChat } from '../../../lib/chats';

export const runtime = 'nodejs';
// A first message waits for a microVM (and, once per machine, for the agent's template).
export const maxDuration = 900;

export async function POST(req: Request) {
  const { id, messages }: { id: unknown; messages: UIMessage[] } = await req.json();
  if (!isChatId(id)) return Response.json({ error: 'the chat id must be letters, digits and dashes' }, { status: 400 });
  const prompt = messages
    .at(-1)
    ?.parts.flatMap((part) => (part.type === 'text' ? [part.text] : []))
    .join('\n');
  if (!prompt) return Response.json({ error: 'the last message has no text' }, { status: 400 });

  const saved = await loadChat(id);
  const session = saved?.state
    ? await agent.createSession({ sessionId: id, resumeFrom: saved.state as never })
    : await agent.createSession({ sessionId: id });
  // The microVM keeps running between turns; the next one (maybe after a reload) reattaches. A turn
  // that fails still saves the session's state, so the chat can go on.
  const detach = async (uiMessages: UIMessage[]) => saveChat(id, { messages: uiMessages, state: await session.detach() });
  try {
    const result = await agent.stream({ session, prompt });
    return result.toUIMessageStreamResponse({ originalMessages: messages, onFinish: ({ messages }) => detach(messages) });
  } catch (err) {
    await detach(saved?.messages ?? []);
    throw err;
  }
}
