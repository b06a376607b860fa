// The suite every registered receiver kind passes: its body is JSON and names the incident and its entity, so a reader
// can find both in vigil.
import { describe, expect, it } from 'vitest';
import { type AlertMessage, IncidentBook } from '../incidents.js';
import { decision, T0 } from '../testing/decisions.js';
import { PAYLOAD_FORMATS, payload } from './index.js';

const messages = () => {
  const book = new IncidentBook(600_000);
  const opened = book.add(decision({ action: 'revoke', score: 0.9999 }), T0 + 200);
  const other = book.add(
    decision({ request_id: 'r2', action: 'step_up', principal: { username: 'bob', client_ip: '198.51.100.8' } }),
    T0 + 300,
  );
  return [opened, other].filter((m): m is AlertMessage => m !== undefined);
};

describe.each(PAYLOAD_FORMATS.map((f) => [f]))('receiver kind %s', (format) => {
  it('sends JSON naming the incident and the entity it is about', () => {
    const all = messages();
    expect(all).toHaveLength(2);
    for (const m of all) {
      const body = payload(format, m);
      expect(() => JSON.parse(body)).not.toThrow();
      expect(body).toContain(m.incident.alert_id.slice(0, 8));
      expect(body).toContain(m.incident.entity_key);
    }
  });
});
