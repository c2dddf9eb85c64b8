// Each chat's messages and its agent session's resume state, in one file per chat id, so that a
// page reload (or another server process) continues the conversation in the same microVM.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UIMessage } from 'ai';

export interface Chat {
  messages: UIMessage[];
  /** What `session.detach()` returned after the last turn (it holds a bridge token: keep it private). */
  state: unknown;
}

const dir = process.env.CHAT_DATA_DIR ?? join(process.cwd(), '.chats');

/** Chat ids name files and microVM sessions: letters, digits and dashes only. */
export const isChatId = (id: unknown): id is string => typeof id === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(id);

export async function loadChat(id: string): Promise<Chat | null> {
  try {
    return JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function saveChat(id: string, chat: Chat): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${id}.json`);
  // A reader never sees half a file.
  await writeFile(`${file}.tmp`, JSON.stringify(chat), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
