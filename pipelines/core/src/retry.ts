// Retries with exponential backoff and full jitter. Settings are passed in (tests pass short ones). Jitter uses
// Math.random on purpose: it only spreads I/O retries in wall-clock time and never touches detection results.
import { isRetriable } from './errors.js';

export interface RetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Attempts in all; Infinity retries until success or abort (sinks that must not drop data). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  multiplier: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

export function backoffDelay(options: RetryOptions, attempt: number): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Runs fn until it succeeds, a non-retriable error is thrown, attempts run out, or signal aborts. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
  hooks: { onRetry?: (err: unknown, attempt: number, delayMs: number) => void; signal?: AbortSignal } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err) || attempt + 1 >= options.maxAttempts || hooks.signal?.aborted) throw err;
      const delay = backoffDelay(options, attempt);
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay, hooks.signal);
    }
  }
}
