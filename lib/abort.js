// AbortSignal plumbing shared by every session method.

export function throwIfAborted(signal) {
  if (signal?.aborted) throw abortReason(signal);
}

export function abortReason(signal) {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Settles like `promise`, or rejects with the abort reason as soon as `signal`
 * aborts. `onAbort` runs once on abort (e.g. to kill a process); its listener
 * is removed when the promise settles, since signals can be long-lived.
 */
export function raceAbort(signal, promise, onAbort) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      reject(abortReason(signal));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
