// The OCSF receiver: a Detection Finding 2004 that OCSF 1.3 readers map without vigil's help.
import { describe, expect, it } from 'vitest';
import { revokeMessage, T0 } from '../../testing/decisions.js';
import { ocsfDetectionFinding } from './ocsf.js';

describe('ocsf receiver', () => {
  it('renders a Detection Finding 2004 with the incident, its actor and its source', () => {
    const m = revokeMessage();
    expect(ocsfDetectionFinding(m)).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      severity_id: 5,
      status_id: 1,
      time: T0 + 200,
      metadata: { version: '1.3.0', product: { name: 'vigil', vendor_name: 'vigil' } },
      finding_info: {
        uid: m.incident.alert_id,
        first_seen_time: T0,
        last_seen_time: T0,
        types: ['distinct_objects_10m_log'],
      },
      actor: { user: { uid: 'alice' } },
      src_endpoint: { ip: '198.51.100.7' },
    });
  });
});
