// Which client writes outside transactions (kafka.producer_client), and how a refusal retrying cannot fix is told
// apart from either client's errors (the real-broker half is test/integration/kafka-writer.test.ts).
import { MultipleErrors, ProtocolError } from '@platformatic/kafka';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka } from './client.js';
import { kafkaConnectionSchema } from './config.js';
import { PlatformaticWriter, recordWriter, rejectedForGood } from './writer.js';

const connection = (producer_client: 'kafkajs' | 'platformatic') =>
  kafkaConnectionSchema.parse({ brokers: ['127.0.0.1:1'], producer_client });

describe('record writers', () => {
  it('use the client kafka.producer_client names (@platformatic/kafka by default)', () => {
    expect(kafkaConnectionSchema.parse({ brokers: ['k:9092'] }).producer_client).toBe('platformatic');
    expect(recordWriter(createKafka(connection('platformatic')))).toBeInstanceOf(PlatformaticWriter);
    const kafkajs = recordWriter(createKafka(connection('kafkajs')));
    expect(kafkajs).not.toBeInstanceOf(PlatformaticWriter);
    expect(typeof kafkajs.sendBatch).toBe('function');
  });

  it("recognise a refusal for good in either client's errors, however wrapped", () => {
    // kafkajs: the code in `type`, possibly inside a retries-exceeded error.
    // kafkajs builds it from its table of broker errors (it copies `type` and `code`).
    const tooLarge = new KafkaJSProtocolError(
      Object.assign(
        new Error('The request included a message larger than the max message size the server will accept'),
        {
          type: 'MESSAGE_TOO_LARGE',
          code: 10,
          retriable: false,
        },
      ),
    );
    expect((tooLarge as unknown as { type: string }).type).toBe('MESSAGE_TOO_LARGE');
    expect(rejectedForGood(tooLarge)).toBe(true);
    expect(rejectedForGood(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 3, retryTime: 100 }))).toBe(true);
    // @platformatic/kafka: the code in `apiId`, inside MultipleErrors (one error per attempt).
    const refused = new MultipleErrors('Producing messages failed.', [new ProtocolError('TOPIC_AUTHORIZATION_FAILED')]);
    expect(rejectedForGood(refused)).toBe(true);
    // What retrying can fix is not refused for good: a leader moving, and a topic unknown for a moment (both clients
    // take it for stale metadata, as a broker restarting gives it).
    for (const id of ['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION'])
      expect(rejectedForGood(new MultipleErrors('Producing messages failed.', [new ProtocolError(id)])), id).toBe(
        false,
      );
    expect(rejectedForGood(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(false);
    expect(rejectedForGood(undefined)).toBe(false);
  });
});
