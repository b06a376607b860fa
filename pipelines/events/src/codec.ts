// Decoding records that vigil's own stages wrote to its internal topics. Those topics are only as trustworthy as
// their ACLs, and a defect upstream can write a bad record: each decoder checks the fields its readers rely on
// (cheaply — this is the hot path; the full zod schemas check the edge) and throws InvalidRecordError with a field
// path, never a value, so the stage sets the record aside as poison and goes on.

import type { z } from 'zod';
import type { AccessEvent } from './access-event.js';
import { type Decision, decisionSchema } from './decision.js';

export class InvalidRecordError extends Error {}

const fail = (detail: string): never => {
  throw new InvalidRecordError(detail);
};

/** A record's value as JSON; throws InvalidRecordError when it is not JSON. */
export function decodeJson(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return fail('value: not valid JSON');
  }
}

/** The value must be a JSON object; returns it typed as a record of unknowns. */
export function expectObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what}: not an object`);
  return v as Record<string, unknown>;
}

export function expectNumber(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${key}: not a finite number`);
  return v as number;
}

export function expectString(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) fail(`${key}: not a non-empty string`);
  return v as string;
}

export function expectArray(o: Record<string, unknown>, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${key}: not an array`);
  return v as unknown[];
}

/** An access event from the keyed topics (written by ingest from a validated event). */
export function decodeAccessEvent(value: Buffer): AccessEvent {
  const o = expectObject(decodeJson(value), 'event');
  expectNumber(o, 'ts');
  expectNumber(o, 'status');
  for (const key of ['request_id', 'method', 'path', 'route', 'client_ip', 'gateway']) expectString(o, key);
  expectArray(o, 'object_ids');
  expectArray(o, 'query_keys');
  expectObject(o.principal, 'principal');
  if (o.tx !== undefined) expectNumber(expectObject(o.tx, 'tx'), 'amount');
  if (o.login !== undefined) expectObject(o.login, 'login');
  return o as unknown as AccessEvent;
}

/**
 * A check by a zod schema, for records others write too: the value as the schema parses it, or InvalidRecordError
 * with the first problem's field path (never its value).
 */
export function schemaCheck<T>(schema: z.ZodType<T>, what: string): (parsed: unknown) => T {
  return (parsed) => {
    const result = schema.safeParse(parsed);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    return fail(`${issue?.path.join('.') || what}: ${issue?.code ?? 'invalid'}`);
  };
}

/** A parsed decision record, checked against the full schema. */
export const checkDecision = schemaCheck(decisionSchema, 'decision');

/**
 * Runs the decision check once on a made-up record with every nested object, so that zod compiles its checks (on first
 * use: ~5 ms idle, ~9 ms on a busy machine) at a service's start rather than on the first decision it enforces.
 */
export function primeDecisionCheck(): void {
  checkDecision({
    ts: 0,
    decided_at: 0,
    request_id: 'prime',
    action: 'revoke',
    entity: 'principal',
    score: 1,
    scores: { iforest: 1, autoencoder: 1, rules: 1 },
    principal: { sub: 'prime', jti: 'prime', iat: 0, exp: 0, client_ip: '192.0.2.1' },
    reasons: [{ feature: 'prime', value: 1, baseline: 0, contribution: 1 }],
    bundle: 'prime',
    dry_run: true,
    context: { route: '/', route_class: 'default', tenant: 'prime', country: 'ZZ' },
  });
}

/** A decision record from vigil.decisions: checked against the full schema (others write to it too: the revoker's
 * cap alerts, operators' tools), throws InvalidRecordError with the first problem's field path. */
export function decodeDecision(value: Buffer): Decision {
  return checkDecision(decodeJson(value));
}
