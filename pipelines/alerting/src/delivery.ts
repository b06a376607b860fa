// Delivers one message to one receiver: POST, signed per Standard Webhooks when the receiver has a secret (a fresh
// timestamp and signature on every attempt, the same webhook-id). 2xx delivers. 5xx, 429, 408, timeouts and
// connection errors are retried with exponential backoff and full jitter (a 429's Retry-After is honoured, within
// the ceiling); any other 4xx will not change on retry and goes to the dead letter at once, as does a message still
// undelivered after the last attempt.
import { backoffDelay } from '@vigil/core';
import { signedHeaders } from './signing.js';

export interface ReceiverTarget {
  name: string;
  url: string;
  /** Standard Webhooks secrets ("whsec_…"); several during a rotation; none: unsigned (Slack). */
  secrets: string[];
  contentType?: string;
  timeoutMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface DeliveryResult {
  /** queued: not delivered yet, waiting on the durable retry queue (retry-queue.ts). */
  outcome: 'delivered' | 'dead_lettered' | 'queued';
  attempts: number;
  /** Last HTTP status, or 0 when none came back. */
  status: number;
  reason?: 'refused' | 'attempts_exhausted';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function deliver(
  target: ReceiverTarget,
  id: string,
  body: string,
  now: () => number = Date.now,
): Promise<DeliveryResult> {
  let status = 0;
  for (let attempt = 0; attempt < target.maxAttempts; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const headers: Record<string, string> = {
        'content-type': target.contentType ?? 'application/json',
        'user-agent': 'vigil-alerter',
        ...(target.secrets.length > 0
          ? signedHeaders(target.secrets, id, Math.floor(now() / 1000), body)
          : { 'webhook-id': id }),
      };
      const res = await fetch(target.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      status = res.status;
      if (res.ok) return { outcome: 'delivered', attempts: attempt + 1, status };
      if (!(res.status >= 500 || res.status === 429 || res.status === 408))
        return { outcome: 'dead_lettered', attempts: attempt + 1, status, reason: 'refused' };
      const ra = Number(res.headers.get('retry-after'));
      if (res.status === 429 && Number.isFinite(ra) && ra > 0) retryAfterMs = Math.min(ra * 1000, target.maxBackoffMs);
    } catch {
      status = 0; // timeout or connection error: retried
    }
    if (attempt + 1 < target.maxAttempts) {
      await sleep(
        retryAfterMs ??
          backoffDelay(
            {
              initialDelayMs: target.initialBackoffMs,
              maxDelayMs: target.maxBackoffMs,
              multiplier: 2,
              maxAttempts: target.maxAttempts,
            },
            attempt,
          ),
      );
    }
  }
  return { outcome: 'dead_lettered', attempts: target.maxAttempts, status, reason: 'attempts_exhausted' };
}
