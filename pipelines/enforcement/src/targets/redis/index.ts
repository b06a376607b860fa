// The Redis target: deny-list keys with TTLs and a pub/sub notice, for gateways that read Redis (see redis.ts).
import { z } from 'zod';
import { defineTarget } from '../target.js';
import { RedisAdapter } from './redis.js';

export const redisTarget = defineTarget({
  key: 'redis',
  schema: z.strictObject({
    name: z.string().default('redis'),
    url: z.string().min(1).describe('redis://host:port; the server must run with maxmemory-policy noeviction.'),
    prefix: z.string().default('vigil:deny:'),
    channel: z.string().default('vigil:revocations'),
  }),
  nameOf: (r) => r.name,
  build: (r, name) => new RedisAdapter({ name, url: r.url, prefix: r.prefix, channel: r.channel }),
});
