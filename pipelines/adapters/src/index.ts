// Public surface of @vigil/adapters: gateway log records in, canonical access events (or reason codes) out.
export type { Adapter, AdapterOptions, ParseContext, RecordOutcome } from './adapter.js';
export { hasForbiddenKey, jsonDepth } from './json-limits.js';
export { adapterFor, DEFAULT_ADAPTER_OPTIONS } from './registry.js';
export type { RouteMatch, RouteTemplater } from './route/template.js';
export { heuristicTemplater, looksLikeId, openApiTemplater } from './route/template.js';
export type { RedactOptions } from './secrets/redact.js';
export { redactOriginal, routeTemplate } from './secrets/redact.js';
export { parseTimestamp } from './time.js';
