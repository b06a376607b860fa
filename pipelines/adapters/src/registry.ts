// One place that knows every format: the CLI's --format, the detector's config and the tests all go through it.
import type { GatewayFormat } from '@vigil/events';
import type { Adapter, AdapterOptions, FormatMapper } from './adapter.js';
import { mapCanonical } from './formats/canonical/canonical.js';
import { mapEnvoy } from './formats/envoy/envoy.js';
import { mapHaproxy } from './formats/haproxy/haproxy.js';
import { mapKong } from './formats/kong/kong.js';
import { mapNginx } from './formats/nginx/nginx.js';
import { createAdapter } from './parse.js';
import { heuristicTemplater } from './route/template.js';
import { CredentialCache } from './secrets/credential-cache.js';

const MAPPERS: Record<GatewayFormat, FormatMapper> = {
  canonical: mapCanonical,
  kong: mapKong,
  envoy: mapEnvoy,
  haproxy: mapHaproxy,
  nginx: mapNginx,
};

const DAY = 86_400_000;

/** Defaults for everything but the pepper, which each deployment must choose. */
export const DEFAULT_ADAPTER_OPTIONS: Omit<AdapterOptions, 'pepper' | 'credentials'> = {
  routes: heuristicTemplater,
  maxRecordBytes: 1024 * 1024,
  maxBatch: 10_000,
  maxDepth: 64,
  minEventTime: Date.UTC(2000, 0, 1),
  maxEventTime: Date.UTC(2100, 0, 1),
  maxPastSkewMs: 7 * DAY,
  maxFutureSkewMs: 5 * 60_000,
  txField: 'tx',
};

export function adapterFor(
  format: GatewayFormat,
  options: Partial<AdapterOptions> & Pick<AdapterOptions, 'pepper'>,
): Adapter {
  return createAdapter(format, MAPPERS[format], {
    ...DEFAULT_ADAPTER_OPTIONS,
    credentials: new CredentialCache(options.pepper),
    ...options,
  });
}
