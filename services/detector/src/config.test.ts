// The detector's config: the shipped example stays valid, bad configs are refused with a message that says how
// to fix them, and environment variables override any key.
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseConfig } from '@vigil/runtime';
import { describe, expect, it } from 'vitest';
import { detectorConfigSchema, lintDetectorConfig } from './config.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/detector.example.yaml', import.meta.url));
const minimal = { format: 'kong', pepper: { secret: 'x'.repeat(32) }, kafka: { brokers: ['k:9092'] } };

const problems = (raw: unknown) => {
  try {
    parseConfig(detectorConfigSchema, raw, lintDetectorConfig);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('detector config', () => {
  it('accepts the shipped example once the operator sets their own pepper, and fills defaults', () => {
    expect(() => loadConfig(detectorConfigSchema, EXAMPLE, {}, lintDetectorConfig)).toThrow(ConfigError);
    const config = loadConfig(
      detectorConfigSchema,
      EXAMPLE,
      { VIGIL_PEPPER__SECRET: 'an-operators-own-pepper-0123456789abcdef' },
      lintDetectorConfig,
    );
    expect(config.consumer.group_id).toBe('vigil-detector');
    expect(Object.isFrozen(config.kafka)).toBe(true);
  });

  it('fills every default from a minimal config', () => {
    const config = parseConfig(detectorConfigSchema, minimal);
    expect(config.topics).toEqual({
      keyed: 'vigil.access.by-principal',
      entities: 'vigil.access.by-entity',
      dead_letter: 'vigil.dlq',
      partitions: 6,
      packed: true,
    });
    expect(config.consumer.topics).toEqual(['vigil.access']);
    expect(config.consumer.max_wait_ms).toBe(500);
  });

  it('rejects unknown keys, naming them', () => {
    expect(problems({ ...minimal, kafak: {} })[0]).toMatch(/unknown key\(s\) kafak/);
  });

  it('says how to fix a missing or weak pepper', () => {
    expect(problems({ ...minimal, pepper: undefined })[0]).toMatch(/^pepper: .*VIGIL_PEPPER/);
    expect(problems({ ...minimal, pepper: { secret: 'short' } })[0]).toMatch(/openssl rand -hex 32/);
    for (const published of ['change-me-change-me-change-me-change-me', 'compose-demo-pepper-replace-me-0123456789']) {
      expect(problems({ ...minimal, pepper: { secret: published } })[0]).toMatch(/published placeholder/);
    }
  });

  it('refuses a consumer that would read its own output', () => {
    expect(problems({ ...minimal, consumer: { topics: ['vigil.dlq'] } })[0]).toMatch(/consume its own output/);
  });

  it('refuses topic_formats for a topic that is not consumed', () => {
    expect(problems({ ...minimal, topic_formats: { other: 'nginx' } })[0]).toMatch(/not in consumer.topics/);
  });

  it('lets environment variables override any key, with lists and numbers', () => {
    const config = loadConfig(detectorConfigSchema, EXAMPLE, {
      VIGIL_KAFKA__BROKERS: 'a:1,b:2',
      VIGIL_CONSUMER__MAX_WAIT_MS: '10',
      VIGIL_PEPPER__SECRET: 'y'.repeat(40),
      HOME: '/ignored',
    });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.consumer.max_wait_ms).toBe(10);
    expect(config.pepper.secret).toBe('y'.repeat(40));
  });

  it('names an unreadable file', () => {
    expect(() => loadConfig(detectorConfigSchema, '/nonexistent/vigil.yaml', {})).toThrow(
      /cannot read the config file/,
    );
  });
});
