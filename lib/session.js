// The harness SandboxSession: commands and files. Also what `restricted()`
// returns, so it must carry no infrastructure members (the harness tells
// session kinds apart with `in` checks).
import { extractLines } from '@ai-sdk/provider-utils';
import { raceAbort, throwIfAborted } from './abort.js';
import { dataArg, stringArg } from './args.js';
import { callNative } from './errors.js';
import { toSandboxProcess } from './process.js';
import { asBuffer, pipeToWriter, pullStream, writeChunks } from './streams.js';

const native = Symbol('native');

export class MicrosandboxSandboxSession {
  constructor(nativeSession) {
    Object.defineProperty(this, native, { value: nativeSession });
  }

  get description() {
    return this[native].description;
  }

  async run({ command, workingDirectory, env, abortSignal }) {
    throwIfAborted(abortSignal);
    const proc = await this.#start('exec', { command, workingDirectory, env });
    const output = raceAbort(abortSignal, callNative(() => proc.collect()), () => void proc.kill().catch(() => {}));
    const { exitCode, stdout, stderr } = await output;
    return { exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
  }

  async spawn({ command, workingDirectory, env, abortSignal }) {
    throwIfAborted(abortSignal);
    const proc = await this.#start('detached', { command, workingDirectory, env });
    return toSandboxProcess(proc, abortSignal);
  }

  #start(launch, { command, workingDirectory, env }) {
    return callNative(() =>
      this[native].start(
        launch,
        stringArg(command, 'command'),
        stringArg(workingDirectory, 'workingDirectory', { optional: true }),
        dataArg(env, 'env'),
      ),
    );
  }

  async readFile({ path, abortSignal }) {
    throwIfAborted(abortSignal);
    const reader = await raceAbort(abortSignal, callNative(() => this[native].openRead(stringArg(path, 'path'))));
    return reader === null ? null : pullStream(() => reader.next());
  }

  async readBinaryFile({ path, abortSignal }) {
    throwIfAborted(abortSignal);
    const buf = await raceAbort(abortSignal, callNative(() => this[native].readFile(stringArg(path, 'path'))));
    return buf === null ? null : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async readTextFile({ path, encoding = 'utf-8', startLine, endLine, abortSignal }) {
    throwIfAborted(abortSignal);
    const buf = await raceAbort(abortSignal, callNative(() => this[native].readFile(stringArg(path, 'path'))));
    if (buf === null) return null;
    return extractLines({ text: buf.toString(encoding), startLine, endLine });
  }

  async writeFile({ path, content, abortSignal }) {
    throwIfAborted(abortSignal);
    const writer = await callNative(() => this[native].openWrite(stringArg(path, 'path')));
    await pipeToWriter(content, writer, abortSignal);
  }

  async writeBinaryFile({ path, content, abortSignal }) {
    throwIfAborted(abortSignal);
    const data = asBuffer(content);
    const writer = await callNative(() => this[native].openWrite(stringArg(path, 'path')));
    await writeChunks(data, writer, abortSignal);
  }

  async writeTextFile({ path, content, encoding = 'utf-8', abortSignal }) {
    throwIfAborted(abortSignal);
    const data = Buffer.from(content, encoding);
    const writer = await callNative(() => this[native].openWrite(stringArg(path, 'path')));
    await writeChunks(data, writer, abortSignal);
  }
}

export function nativeOf(session) {
  return session[native];
}
