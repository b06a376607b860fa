// Bad input through the parse pipeline every format shares (shown with Kong records): it never throws, every
// record that is not an event is a dead letter with a reason code.
import { accessEventCodec } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './registry.js';
import { TEST_PEPPER } from './testing/fixtures.js';
import { event, kongRecord, reason, T0 } from './testing/outcomes.js';

const kong = adapterFor('kong', { pepper: TEST_PEPPER });

describe('bad input never throws and always has a reason', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['{"started_at":', 'invalid_json'],
    ['42', 'not_an_object'],
    ['"text"', 'not_an_object'],
    ['null', 'not_an_object'],
    ['[]', 'empty'],
    ['{"__proto__":{"polluted":1}}', 'forbidden_key'],
    ['{"request":{"constructor":{"x":1}}}', 'forbidden_key'],
    ['{"\\u005f_proto__":{"polluted":1}}', 'forbidden_key'],
    ['{}', 'missing_field'],
    [
      '{"started_at":"yesterday","client_ip":"1.2.3.4","request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'invalid_field',
    ],
    [
      '{"started_at":1,"client_ip":"1.2.3.4","request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'timestamp_out_of_range',
    ],
    [
      '{"started_at":99999999999999,"client_ip":"1.2.3.4",' +
        '"request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'timestamp_out_of_range',
    ],
    [
      '{"started_at":1764320000000,"client_ip":5,"request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'invalid_field',
    ],
  ])('%s → %s', (line, expected) => {
    expect(reason(kong.parse(line))).toBe(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('replaces a lone surrogate a JSON escape makes, so the event reads back the same from a binary topic', () => {
    // JSON.stringify writes a lone surrogate as an escape: the only way one gets into a parsed record.
    const line = kongRecord({}, { headers: { 'user-agent': 'bot\ud800/1' }, id: 'req-\udc00' });
    expect(line).toContain('\\ud800');
    const e = event(kong.parse(line));
    expect([e.user_agent, e.request_id]).toEqual(['bot\ufffd/1', 'req-\ufffd']);
    expect(accessEventCodec.decode(accessEventCodec.encode(e) as Buffer)).toEqual(e);
    // A pair (an escaped emoji) is well-formed and stays.
    expect(event(kong.parse(kongRecord({}, { headers: { 'user-agent': 'ok \ud83d\ude00' } }))).user_agent).toBe(
      'ok 😀',
    );
    // The key check runs first: an escaped __proto__ beside a surrogate is still refused.
    expect(reason(kong.parse('{"\\u005f_proto__":{"x":"\\ud800"}}'))).toBe('forbidden_key');
  });

  it('rejects invalid UTF-8', () => {
    expect(reason(kong.parse(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])))).toBe('invalid_utf8');
  });

  it('rejects a 10 MB line before parsing it', () => {
    const huge = `{"x":"${'a'.repeat(10 * 1024 * 1024)}"}`;
    expect(reason(kong.parse(huge))).toBe('too_large');
  });

  it('rejects event times far from the Kafka record time, in both directions', () => {
    const line = kongRecord();
    expect(reason(kong.parse(line, { receivedAt: T0 + 30 * 86_400_000 }))).toBe('timestamp_out_of_range');
    expect(reason(kong.parse(line, { receivedAt: T0 - 3_600_000 }))).toBe('timestamp_out_of_range');
    expect(event(kong.parse(line, { receivedAt: T0 + 2_000 })).ts).toBe(T0);
  });

  it('dead-letters the bad elements of a batch and keeps the good ones, with their positions', () => {
    const outcomes = kong.parse(`[${kongRecord()},7,${kongRecord({ client_ip: undefined })}]`);
    expect(outcomes.map((o) => [o.ok, o.index])).toEqual([
      [true, 0],
      [false, 1],
      [false, 2],
    ]);
  });
});
