// The Slack receiver: one line a person reads.
import { describe, expect, it } from 'vitest';
import { revokeMessage } from '../../testing/decisions.js';
import { slackText } from './slack.js';

describe('slack receiver', () => {
  it('renders one line with the severity, the action and the entity', () => {
    expect(slackText(revokeMessage()).text).toMatch(/CRITICAL.*revoke principal sub:alice/);
  });
});
