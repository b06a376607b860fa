// The generic receiver: the incident's fields under vigil's own names.
import { describe, expect, it } from 'vitest';
import { revokeMessage } from '../../testing/decisions.js';
import { genericAlert } from './generic.js';

describe('generic receiver', () => {
  it('renders the incident as vigil names it', () => {
    expect(genericAlert(revokeMessage())).toMatchObject({
      type: 'vigil.alert.open',
      severity: 'critical',
      entity_key: 'sub:alice',
      events: 1,
    });
  });
});
