// The HAProxy target: runtime map entries set over the Runtime API (see haproxy.ts).
import { z } from 'zod';
import { defineTarget } from '../target.js';
import { HaproxyAdapter } from './haproxy.js';

export const haproxyTarget = defineTarget({
  key: 'haproxy',
  schema: z.strictObject({
    name: z.string().default('haproxy'),
    socket: z.string().min(1).describe('Runtime API: unix socket path or host:port (stats socket … level admin).'),
    maps: z
      .record(
        z.string().regex(/^(revoke|throttle|step_up)_[a-z]+$/, 'keys are <action>_<kind>, e.g. revoke_sub'),
        z.string().min(1),
      )
      .describe('Map file per <action>_<kind> as named in the HAProxy config.')
      .meta({
        examples: [
          {
            revoke_sub: '/etc/haproxy/vigil/revoke_sub.map',
            revoke_jti: '/etc/haproxy/vigil/revoke_jti.map',
          },
        ],
      }),
    timeout_ms: z.number().int().positive().default(2000),
  }),
  nameOf: (h) => h.name,
  build: (h, name) => new HaproxyAdapter({ name, socket: h.socket, maps: h.maps, timeoutMs: h.timeout_ms }),
});
