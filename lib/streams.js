// Web streams over the addon's pull-style readers and writers.
import { callNative } from './errors.js';

const asUint8Array = (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);

/** A ReadableStream that pulls chunks from `next()` until it yields null. */
export function pullStream(next, cancel) {
  return new ReadableStream(
    {
      async pull(controller) {
        const chunk = await callNative(next);
        if (chunk === null) controller.close();
        else controller.enqueue(asUint8Array(chunk));
      },
      cancel() {
        cancel?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Bytes as a Buffer view, honouring byteOffset/byteLength (no copy). */
export function asBuffer(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('content must be a Uint8Array');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Large enough to amortise a native round trip, small enough for one agent frame.
const WRITE_CHUNK_BYTES = 1024 * 1024;

/**
 * Copies a ReadableStream<Uint8Array> into a native writer, in ~1 MiB writes.
 * The file replaces its target only when the stream completes; on abort or
 * error the writer is aborted and the target keeps its old content.
 */
export async function pipeToWriter(stream, writer, signal) {
  const reader = stream.getReader();
  let pending = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    signal?.throwIfAborted();
    await callNative(() => writer.write(chunk));
  };
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      for (let offset = 0; offset < value.byteLength; offset += WRITE_CHUNK_BYTES) {
        const part = asBuffer(value.subarray(offset, offset + WRITE_CHUNK_BYTES));
        pending.push(part);
        pendingBytes += part.byteLength;
        if (pendingBytes >= WRITE_CHUNK_BYTES) await flush();
      }
    }
    await flush();
    signal?.throwIfAborted();
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    await writer.abort();
    throw err;
  }
  await callNative(() => writer.close());
}

/** Writes bytes through a native writer in ~1 MiB chunks, so an abort stops the transfer. */
export async function writeChunks(bytes, writer, signal) {
  try {
    for (let offset = 0; offset < bytes.byteLength; offset += WRITE_CHUNK_BYTES) {
      signal?.throwIfAborted();
      await callNative(() => writer.write(bytes.subarray(offset, offset + WRITE_CHUNK_BYTES)));
    }
    signal?.throwIfAborted();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await callNative(() => writer.close());
}
