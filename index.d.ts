import { HarnessError } from '@ai-sdk/harness';
import type { HarnessV1NetworkSandboxSession, HarnessV1SandboxProvider } from '@ai-sdk/harness';
import type { Experimental_SandboxSession } from '@ai-sdk/provider-utils';

/** A guest port published on the host. */
export interface MicrosandboxPort {
  /** Preferred host port. When it is taken (another session, another program), a free one is leased instead. */
  host: number;
  /** Port inside the microVM. Sessions report these in `ports`. */
  guest: number;
  /** Host address to bind. Default `'127.0.0.1'`; keep it on loopback unless you know who can reach it. */
  bind?: string;
  /** Default `'tcp'`. */
  protocol?: 'tcp' | 'udp';
}

/**
 * Same shape as the harness's `HarnessV1NetworkPolicy`. In every mode the guest cannot reach the host
 * (except `allowHostPorts`) on any of its addresses, loopback, private ranges, link-local, cloud metadata,
 * multicast or IPv4-embedding (NAT64, 6to4, Teredo) addresses, and ingress to published ports stays allowed.
 */
export type MicrosandboxNetworkPolicy =
  /** The public internet, with DNS. The default. */
  | { mode: 'allow-all' }
  /** No egress and no DNS. */
  | { mode: 'deny-all' }
  | {
      mode: 'custom';
      /** Bare host names the guest may resolve and reach; `*.example.com` matches subdomains. Only these names resolve. */
      allowedHosts?: string[];
      /** Public CIDRs the guest may reach (by address: a CIDR-only policy has no DNS). Private ranges stay denied. */
      allowedCIDRs?: string[];
      /** Denied before anything else. */
      deniedCIDRs?: string[];
    };

export interface MicrosandboxProgressEvent {
  phase: 'image' | 'boot' | 'fork' | 'bootstrap' | 'template' | 'pool' | 'timeline';
  message: string;
}

/** Code for each session (see `source`). `username` / `password` reach only git, never logs or errors. */
export type MicrosandboxSource =
  | { type: 'git'; url: string; revision?: string; depth?: number; username?: string; password?: string }
  | { type: 'tarball'; url: string };

/** A host directory the session works in (see `workspace`). */
export interface MicrosandboxWorkspace {
  /** The host directory (relative paths resolve against this process's working directory). */
  path: string;
  /**
   * `'mount'` (the default): the agent reads and writes the host files directly.
   * `'overlay'`: the agent sees the host files, but its writes stay in the microVM (copy-on-write, on a disk
   * of the session's own); `session.getWorkspaceChanges()` shows them and `session.applyWorkspaceChanges()`
   * writes them to the host directory. Nothing reaches the host otherwise.
   */
  mode?: 'mount' | 'overlay';
}

/** One path an overlay session changed. The digests say what each side held when the diff was taken. */
export interface MicrosandboxWorkspaceChange {
  /** Relative to the workspace. */
  path: string;
  status: 'added' | 'modified' | 'deleted';
  /** Not UTF-8 text (or holds NUL) on either side: the diff only names it. */
  binary: boolean;
  hostDigest: string | null;
  sessionDigest: string | null;
}

/** What an overlay session changed in its workspace against the host directory. */
export interface MicrosandboxWorkspaceChanges {
  /** A unified diff, git style (`a/` the host, `b/` the session); binary files named. */
  diff: string;
  files: MicrosandboxWorkspaceChange[];
}

/** A session of this package: the harness's, and the overlay workspace's two methods. */
export interface MicrosandboxWorkspaceSession {
  /**
   * What the agent changed in an overlay workspace (`workspace: { path, mode: 'overlay' }`): every regular
   * file or symlink whose content differs from the host directory's. Walks only what the agent wrote.
   * Other sessions: `ERR_MICROSANDBOX_UNSUPPORTED`.
   */
  getWorkspaceChanges(): Promise<MicrosandboxWorkspaceChanges>;
  /**
   * Writes reviewed changes to the host directory (each file replaced by a rename, deletions removed).
   * Refuses with `ERR_MICROSANDBOX_WORKSPACE_CONFLICT`, writing nothing, when a host file or a session file
   * changed since that diff, or a path would be written through a symlink of the host directory.
   */
  applyWorkspaceChanges(
    changes: MicrosandboxWorkspaceChanges | MicrosandboxWorkspaceChange[],
  ): Promise<{ applied: string[] }>;
}

/** Create mode: the provider creates, owns and cleans up its microVMs. */
export interface MicrosandboxCreateSettings {
  /**
   * An OCI reference in the local image cache (pulled when missing and a registry is reachable),
   * a `docker save` / OCI-layout tarball path (loaded once, tagged by content hash),
   * or a rootfs directory / disk image path. Default `'node:24-bookworm-slim'` (Node.js 24 on Debian,
   * what the adapters' bridges and CLIs need), with pnpm 10 installed by a default `bootstrapPreCommands`.
   */
  image?: string;
  /** vCPUs (integer >= 1). Default: microsandbox's default (1). */
  cpus?: number;
  /** sandbox-vercel's shape: `{ vcpus: 2 }` is `cpus: 2` and, unless `memory` is given, 2048 MiB per vCPU. */
  resources?: { vcpus: number };
  /** Memory in MiB (integer >= 64). Default: microsandbox's default (512). */
  memory?: number;
  /**
   * Absolute guest working directory, created if missing. Default: `/workspace` with a `workspace`,
   * else the image's WORKDIR, else `$HOME`.
   */
  workdir?: string;
  /**
   * The user's project at `workdir`: bound read-write (the agent edits those files in place) or as an
   * overlay (the agent's writes stay in the microVM until applied); see `MicrosandboxWorkspace`.
   * Refused when it does not exist, is not a directory, is `/`, or overlaps sandbox state.
   * A template never holds a workspace: every session, forked or resumed, sees its own.
   */
  workspace?: MicrosandboxWorkspace;
  /**
   * Code fetched into `workdir` (which must be empty) when each session is created, as sandbox-vercel's
   * `source`: never part of a template, so every session, forked or not, gets the current revision.
   * The fetch runs in the guest, under its network policy. A failed fetch removes the session
   * (`ERR_MICROSANDBOX_SOURCE_FAILED`). Not with `workspace`.
   */
  source?: MicrosandboxSource;
  /**
   * Who commands, `spawn`ed processes and files written through the session belong to: a user of the image
   * (name or uid, optionally `:group`). Default: the image's `USER`, else root. The working directory is
   * made theirs; `bootstrapPreCommands` still run as root. Claude Code needs no `IS_SANDBOX` then.
   */
  user?: string;
  /**
   * Guest ports to publish; every session leases its own host port for each. A number `p` is
   * `{ host: p, guest: p }` (sandbox-vercel's shape): read URLs from `getPortEndpoint`.
   */
  ports?: Array<number | MicrosandboxPort>;
  /** Default guest environment, merged under each command's own `env`. Values are never logged. */
  env?: Record<string, string>;
  /** Guest egress. Default `{ mode: 'allow-all' }`: the public internet, nothing of the host. */
  networkPolicy?: MicrosandboxNetworkPolicy;
  /**
   * Host TCP ports the guest may reach at `host.microsandbox.internal` (a local model server, a dev
   * database), in any network mode. Only these ports: other sessions' published ports stay unreachable
   * unless you list them, and none is leased to another session while this one exists. Not 53 (the host's resolver).
   */
  allowHostPorts?: number[];
  /**
   * The runtime stops a microVM that has been idle (no command running, no request) this long. While a
   * process holds the session it keeps the timer fresh, so this counts from when its last holder went
   * away (a crashed process, a detached session). Whole seconds, at least 1000. Default: 5 minutes for
   * sessions without a `sessionId`; none for resumable ones (a stopped resumable session keeps its disk).
   */
  idleTimeoutMs?: number;
  /** The runtime stops a microVM this long after it starts, whatever it is doing. Default: none. */
  maxDurationMs?: number;
  /** sandbox-vercel's name for `maxDurationMs` (the session's lifetime in ms); give one of the two. */
  timeout?: number;
  /**
   * Sessions accept `setRequestTransformations` / `addRequestTransformations`, so adapters keep real
   * API keys out of the guest (the guest holds a placeholder; the runtime puts the real value into HTTPS
   * requests to the rule's host). Such sessions boot with HTTPS interception, so they start from a
   * template's disk rather than forking its RAM, and the first credential with a new placeholder restarts
   * the microVM (its disk stays). Default: `true` for the session factories, `false` for `createMicrosandbox()`.
   */
  brokerCredentials?: boolean;
  /**
   * Credentials that never enter the microVM. The guest's `name` variable holds the placeholder
   * `$MSB_<name>`; the runtime swaps in the real value (read from this process's environment variable
   * `hostEnv`, default `name`, whenever a microVM starts; never stored) only in HTTPS requests to
   * `allowedHosts`. A command whose env carries the real value gets the placeholder instead. HTTPS
   * from the guest is then intercepted: Node trusts the runtime's CA through `NODE_EXTRA_CA_CERTS`.
   */
  secrets?: Array<{ name: string; allowedHosts: string[]; hostEnv?: string }>;
  /**
   * Called with each long step: `image` (hashing, loading an archive), `boot`, `fork`, `bootstrap`
   * (each of `bootstrapPreCommands`), `template` (bootstrap, snapshot, publish), `pool` (a warm microVM
   * ready, or handed to a session). Messages name steps and
   * sizes, never env values or commands. It never keeps the process alive.
   */
  onProgress?: (event: MicrosandboxProgressEvent) => void;
  /** Prefix for sandbox names (shown by `msb ls`). Default `aisdk`. */
  name?: string;
  /** Host name to put in port URLs instead of the bind address (e.g. when the host is reached remotely). */
  publicHostname?: string;
  /** `createSession({ sessionId })` for an id whose sandbox already exists replaces it instead of failing. */
  replace?: boolean;
  /** Shell commands run once on a fresh sandbox before `onFirstCreate` (e.g. `corepack enable pnpm`). */
  bootstrapPreCommands?: string[];
  /**
   * Keeps `size` microVMs (0-16) booted ahead of time, so `createSession({ sessionId })` hands one over
   * instead of booting (forked from the identity's template when there is one). The pool fills in the
   * background after the first create with a `sessionId`, one microVM at a time; an empty pool never makes
   * a create wait. A session handed over behaves as one created for its id (resume from any process,
   * same ports and URLs); `msb ls` shows its microVM under a pool name, `npx ai-sdk-microsandbox ls`
   * shows both. Waiting microVMs belong to this process: `close()` (or the end of the event loop)
   * removes them, and the next process reaps them if this one is killed. Default: off.
   */
  warmPool?: { size: number };
}

/** Wrap mode: attach to a sandbox the caller created and owns. Stop and destroy leave it alone. */
export interface MicrosandboxWrapSettings {
  /** The caller's running sandbox: a `Sandbox` from the `microsandbox` JS SDK, or its name. */
  sandbox: string | { readonly name: string };
  /**
   * Guest ports the caller's sandbox already publishes. Each session leases one of them (its `ports`), so
   * as many sessions can share the sandbox as there are bridge ports.
   */
  bridgePorts?: number[];
  publicHostname?: string;
}

export type MicrosandboxSettings = MicrosandboxCreateSettings | MicrosandboxWrapSettings;

export interface MicrosandboxPruneOptions {
  /** Templates kept regardless of age, most recently used first. Default 4. */
  keepNewest?: number;
  /** Templates used within this many milliseconds are kept too. Default 7 days. */
  keepUsedWithinMs?: number;
}

export interface MicrosandboxPruneReport {
  /** Sandboxes of sessions without a `sessionId` whose creating process is gone. */
  removedOrphans: string[];
  /** Template keys removed, and kept. */
  removedTemplates: string[];
  keptTemplates: string[];
}

export interface MicrosandboxProvider extends HarnessV1SandboxProvider {
  readonly resumeSession: NonNullable<HarnessV1SandboxProvider['resumeSession']>;
  /**
   * Frees disk: removes orphaned sandboxes and bootstrap templates beyond the newest few not used recently.
   * Also runs automatically (templates after each new one is published, orphans once per process).
   */
  prune(options?: MicrosandboxPruneOptions): Promise<MicrosandboxPruneReport>;
  /** How full the warm pool is; `null` without `warmPool`. */
  warmPoolStatus(): MicrosandboxWarmPoolStatus | null;
  /** Stops the warm pool and removes the microVMs waiting in it; sessions already created are untouched. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface MicrosandboxWarmPoolStatus {
  size: number;
  /** MicroVMs booted and waiting to be handed over. */
  ready: number;
  /** Whether one is being booted now. */
  filling: boolean;
}

/**
 * A `HarnessV1SandboxProvider` backed by local microsandbox microVMs, for `HarnessAgent`'s `sandbox:` slot.
 * Validates `settings` synchronously (throws `MicrosandboxError` with code `ERR_MICROSANDBOX_INVALID_SETTINGS`
 * naming the bad field) and does no I/O until a session is created.
 */
export declare function createMicrosandbox(settings: MicrosandboxSettings): MicrosandboxProvider;

export type MicrosandboxSession = HarnessV1NetworkSandboxSession & MicrosandboxWorkspaceSession;

/** What `await agent.getSandboxTemplate()` returns (`HarnessV1SandboxTemplate`, `@ai-sdk/harness` >= 1.0.126). */
export interface MicrosandboxSandboxTemplate {
  /** Sessions of one identity (and the same settings) share one bootstrapped template, in any process. */
  readonly identity: string;
  /** Runs once per template, on a template microVM, before its snapshot is taken. */
  readonly prepare: (options: {
    readonly session: Experimental_SandboxSession;
    readonly abortSignal?: AbortSignal;
  }) => Promise<void>;
}

/** The creation settings a session factory takes: those of `createMicrosandbox()` but the provider's own. */
export type MicrosandboxCreationSettings = Omit<MicrosandboxCreateSettings, 'replace' | 'warmPool'>;

/** `HarnessV1SandboxSessionCreateOptions<MicrosandboxCreationSettings>`. */
export type MicrosandboxNetworkSandboxSessionCreateOptions = MicrosandboxCreationSettings & {
  /**
   * The new session's id (default: a random one); `session.id` reports it and a resume takes it.
   * Creation never resumes: an id whose session exists fails with `ERR_MICROSANDBOX_SESSION_EXISTS`.
   */
  readonly sandboxId?: string;
  /** The agent's template: the first session of its identity bootstraps it, later ones start from it. */
  readonly template?: MicrosandboxSandboxTemplate;
  readonly abortSignal?: AbortSignal;
};

/** `HarnessV1SandboxSessionResumeOptions`: the session keeps the settings it was created with. */
export interface MicrosandboxNetworkSandboxSessionResumeOptions {
  /** `session.id` of a session created by `createMicrosandboxNetworkSandboxSession` (or `createMicrosandbox`'s `sessionId`). */
  readonly sandboxId: string;
  readonly abortSignal?: AbortSignal;
}

export interface MicrosandboxNativeSandboxOptions {
  /** Guest ports the sandbox already publishes; the session leases one of them (its `ports`). */
  bridgePorts?: number[];
  publicHostname?: string;
  abortSignal?: AbortSignal;
}

/**
 * A new microVM session for `agent.createSession({ sandboxSession })`. Resumable from any process by
 * `resumeMicrosandboxNetworkSandboxSession({ sandboxId: session.id })` until `destroy()`.
 */
export declare function createMicrosandboxNetworkSandboxSession(
  options?: MicrosandboxNetworkSandboxSessionCreateOptions,
): Promise<MicrosandboxSession>;

/** What `prepareMicrosandboxSandboxTemplate` did. */
export interface MicrosandboxPreparedTemplate {
  /** The image as the runtime knows it (a tarball is loaded and tagged by content). */
  image: string;
  /** The template's key; null without a `template`, or for an image that cannot be snapshotted. */
  templateKey: string | null;
  /** Bootstrapped now; false when it was already published. */
  bootstrapped: boolean;
}

/**
 * Gets `createMicrosandboxNetworkSandboxSession(options)` ready ahead of time (also `npx ai-sdk-microsandbox prepare`):
 * pulls or loads the image and bootstraps `options.template` once, so that the first session forks instead.
 */
export declare function prepareMicrosandboxSandboxTemplate(
  options?: Omit<MicrosandboxNetworkSandboxSessionCreateOptions, 'sandboxId'>,
): Promise<MicrosandboxPreparedTemplate>;

/**
 * Reattaches to a running session, or starts a stopped one again (its disk kept). Never creates: an
 * unknown id fails with `ERR_MICROSANDBOX_SESSION_NOT_FOUND`.
 */
export declare function resumeMicrosandboxNetworkSandboxSession(
  options: MicrosandboxNetworkSandboxSessionResumeOptions,
): Promise<MicrosandboxSession>;

/**
 * A session on a running sandbox you own (a `Sandbox` of the `microsandbox` JS SDK, or its name).
 * Its `stop()` and `destroy()` never stop or remove your sandbox.
 */
export declare function createMicrosandboxNetworkSandboxSessionFromNativeSandbox(
  sandbox: string | { readonly name: string },
  options?: MicrosandboxNativeSandboxOptions,
): Promise<MicrosandboxSession>;

export type MicrosandboxErrorCode =
  | 'ERR_MICROSANDBOX_INVALID_SETTINGS'
  /** A call's argument (command, env, sessionId, port, prune option) is invalid; the message names it. */
  | 'ERR_MICROSANDBOX_INVALID_ARGUMENT'
  | 'ERR_MICROSANDBOX_RUNTIME_MISSING'
  | 'ERR_MICROSANDBOX_KVM_UNAVAILABLE'
  | 'ERR_MICROSANDBOX_IMAGE_NOT_FOUND'
  | 'ERR_MICROSANDBOX_SESSION_NOT_FOUND'
  | 'ERR_MICROSANDBOX_SESSION_EXISTS'
  | 'ERR_MICROSANDBOX_SESSION_STOPPED'
  | 'ERR_MICROSANDBOX_PORT_UNAVAILABLE'
  /** On the `HarnessCapabilityUnsupportedError` thrown for a guest port the session does not publish. */
  | 'ERR_MICROSANDBOX_PORT_NOT_EXPOSED'
  /** On the `HarnessCapabilityUnsupportedError` thrown for what a session cannot do (e.g. `https` URLs, a request transformation matching on a path). */
  | 'ERR_MICROSANDBOX_UNSUPPORTED'
  | 'ERR_MICROSANDBOX_FS'
  | 'ERR_MICROSANDBOX_EXEC_FAILED'
  | 'ERR_MICROSANDBOX_BOOT_FAILED'
  /** The session's `source` (git repository or tarball) could not be fetched; the session was removed. */
  | 'ERR_MICROSANDBOX_SOURCE_FAILED'
  /** `applyWorkspaceChanges` wrote nothing: a host or session file changed since the diff. */
  | 'ERR_MICROSANDBOX_WORKSPACE_CONFLICT'
  /** Native work was cancelled (a call aborted through its `abortSignal` rejects with the signal's reason). */
  | 'ERR_MICROSANDBOX_ABORTED'
  /** This package's state directory cannot be written (read-only, full, or owned by another user). */
  | 'ERR_MICROSANDBOX_CACHE_UNAVAILABLE'
  /** microsandbox's state (`MSB_HOME`) was written by another microsandbox version; the message says where. */
  | 'ERR_MICROSANDBOX_STATE_MISMATCH'
  | 'ERR_MICROSANDBOX_INTERNAL'
  /** Thrown by `import` when this OS/CPU/libc has no build of the native addon. */
  | 'ERR_MICROSANDBOX_UNSUPPORTED_PLATFORM'
  /** Thrown by `import` when the addon package for this platform is not installed or does not load. */
  | 'ERR_MICROSANDBOX_BINDING_MISSING';

/**
 * Errors of this package: a `HarnessError` (so `getHarnessErrorMessage` shows its message) with a stable
 * `code`. Its `cause` is what caused it in the runtime (a `MicrosandboxRuntimeError`, whose own `cause` is the
 * next one in the chain), or else the native error. Unexposed ports, unsupported protocols and request
 * transformations the runtime cannot express throw the harness's `HarnessCapabilityUnsupportedError` instead.
 */
export declare class MicrosandboxError extends HarnessError {
  readonly code: MicrosandboxErrorCode;
  /** Also true for an error of another copy of this package. */
  static isInstance(error: unknown): error is MicrosandboxError;
}
