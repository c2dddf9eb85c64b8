// The chat id lives in the URL (?id=...), so a reload shows the same conversation and continues it
// in the same microVM.
import { randomUUID } from 'node:crypto';
import { redirect } from 'next/navigation';
import { isChatId, loadChat } from '../lib/chats';
import { Chat } from './chat';

export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<{ id?: string }> }) {
  const { id } = await searchParams;
  if (!isChatId(id)) redirect(`/?id=${randomUUID()}`);
  const saved = await loadChat(id);
  return <Chat id={id} initialMessages={saved?.messages ?? []} />;
}
