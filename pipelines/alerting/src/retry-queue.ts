// Alerts outlive a receiver's outage. A message the first few attempts could not deliver (5xx, 429, timeouts, a
// receiver that is down) is not dead-lettered: it goes onto a durable retry queue (a Kafka topic keyed by incident,
// so one incident's messages stay in order), and a worker keeps delivering it — each attempt signed afresh, since
// Standard Webhooks receivers refuse timestamps older than five minutes — with growing backoff until it is delivered,
// refused (a 4xx that will not change), or its time budget (an hour by default) is spent; only then is it a dead
// letter. While an incident has a message waiting in the queue, its later messages join the queue behind it.
import { backoffDelay } from '@vigil/core';
import { decodeJson, expectNumber, expectObject, expectString } from '@vigil/events';
import { type DeliveryResult, deliver, type ReceiverTarget } from './delivery.js';
import type { AlertMessage } from './incidents.js';

/** One message waiting for one receiver (the value on the retry topic; key: the incident). */
export interface RetryItem {
  receiver: string;
  message: AlertMessage;
  body: string;
  /** When the first attempt was made (epoch ms): the time budget counts from here. */
  first_attempt_at: number;
  /** Attempts made so far, and the last status (0: no answer). */
  attempts: number;
  status: number;
}

export function decodeRetryItem(value: Buffer): RetryItem {
  const o = expectObject(decodeJson(value), 'retry item');
  expectString(o, 'receiver');
  expectString(o, 'body');
  expectNumber(o, 'first_attempt_at');
  expectNumber(o, 'attempts');
  expectNumber(o, 'status');
  const m = expectObject(o.message, 'message');
  expectString(m, 'id');
  expectString(expectObject(m.incident, 'message.incident'), 'alert_id');
  return o as unknown as RetryItem;
}

export interface RetryOptions {
  /** How long after its first attempt a message may still be delivered; then it is dead-lettered. */
  budgetMs: number;
  now?: () => number;
  /** Waits (the worker keeps its group membership alive meanwhile). */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Delivers one queued message: one attempt at a time (each signed afresh), backing off between them, until it is
 * delivered, refused, or the budget is spent. The result counts every attempt, the in-line ones before the queue too.
 */
export async function deliverQueued(target: ReceiverTarget, item: RetryItem, o: RetryOptions): Promise<DeliveryResult> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const backoff = {
    initialDelayMs: target.initialBackoffMs,
    maxDelayMs: target.maxBackoffMs,
    multiplier: 2,
    maxAttempts: Number.POSITIVE_INFINITY,
  };
  let attempts = item.attempts;
  let status = item.status;
  for (let round = 0; ; round++) {
    const wait = backoffDelay(backoff, Math.min(round + 1, 30));
    const left = item.first_attempt_at + o.budgetMs - now();
    if (left <= 0) return { outcome: 'dead_lettered', attempts, status, reason: 'attempts_exhausted' };
    await sleep(Math.min(wait, left));
    const result = await deliver({ ...target, maxAttempts: 1 }, item.message.id, item.body, now);
    attempts += result.attempts;
    status = result.status;
    if (result.outcome === 'delivered' || result.reason === 'refused') return { ...result, attempts };
  }
}
