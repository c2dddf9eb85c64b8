// Sustained guest I/O, each test in its own microVM, one microVM at a time: `npm run test:stress`,
// and the workload of scripts/vmhost/stability.sh. Not part of `npm test`: under nested emulation
// these are the tests a microVM or the test VM itself most often dies in (scripts/vmhost/README.md),
// which says nothing about this package; session.spec.ts proves the same paths (chunked writes and
// reads, a 20 MB output flood, cut streams resumed) at smaller sizes.
// On the emulated host, 256 MiB (the contract's size) killed the microVM mid-write; 32 MiB still
// proves chunked streaming both ways. Run the larger size on a KVM host.
import { describe, expect, it } from 'vitest';
import { createMicrosandbox } from '../../index.js';
import { harnessImage } from '../support/env.js';

const text = async (stream: ReadableStream<Uint8Array>) => new Response(stream).text();
// Each takes about a minute under emulation; a microVM that hangs there should cost minutes, not ten.
const timeout = 240_000;

describe('sustained output', () => {
  it('does not stall the guest on a 48 MB stdout flood that nobody reads', { timeout }, async () => {
    const flooded = await createMicrosandbox({ image: harnessImage(), memory: 1024 }).createSession();
    try {
      const started = Date.now();
      // Once written, the process watches its own output file: the host has read it, so its
      // guest disk space must come back (the file keeps its size; the blocks the host has are
      // freed in steps of 16 MiB, so about 14 MiB of the 46 MiB stay allocated).
      const proc = await flooded.spawn({
        command: [
          'head -c 48000000 /dev/zero',
          'f=$(readlink /proc/$$/fd/1)',
          'for i in $(seq 1 240); do k=$(du -k "$f" | cut -f1); [ "$k" -lt 24000 ] && break; sleep 0.5; done',
          'echo "$k" >&2',
          'echo finished >&2',
        ].join('; '),
      });
      const { exitCode } = await proc.wait();
      expect(exitCode).toBe(0);
      const [kib, last] = (await text(proc.stderr)).trim().split('\n');
      console.log(`guest disk held by 48 MB of read output: ${kib} KiB`);
      expect(Number(kib)).toBeLessThan(24000);
      expect(last).toBe('finished');
      console.log(`48 MB unread flood finished in ${Date.now() - started} ms`);
      expect((await flooded.run({ command: 'echo responsive' })).stdout).toBe('responsive\n');
    } finally {
      await flooded.destroy();
    }
  });
});

describe('large files', () => {
  it('streams a 32 MiB file in and out', { timeout }, async () => {
    const session = await createMicrosandbox({ image: harnessImage(), memory: 1024 }).createSession();
    try {
      const size = 32 * 1024 * 1024;
      const chunk = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
      let sent = 0;
      const content = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        },
      });
      await session.writeFile({ path: 'big/stream.bin', content });
      const check = await session.run({ command: 'stat -c %s big/stream.bin' });
      expect(check.stdout.trim()).toBe(String(size));
      let received = 0;
      let mismatch = false;
      for await (const part of (await session.readFile({ path: 'big/stream.bin' }))!) {
        for (let i = 0; i < part.byteLength; i += 4099) {
          if (part[i] !== (((received + i) % chunk.byteLength) * 7 & 0xff)) mismatch = true;
        }
        received += part.byteLength;
      }
      expect(received).toBe(size);
      expect(mismatch).toBe(false);
    } finally {
      await session.destroy();
    }
  });
});
