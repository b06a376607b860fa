// Route templates ("/v1/accounts/{id}") and the object ids a request addresses. With the API's OpenAPI document the
// templates are exact; without it, path segments that look like identifiers are replaced by heuristics.

export interface RouteMatch {
  route: string;
  objectIds: string[];
}

export interface RouteTemplater {
  match(path: string): RouteMatch;
}

const MAX_SEGMENTS = 64;
const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const HEX_ID = /^[0-9a-f]{16,}$/i;
const EMAIL = /^[^@/\s]+@[^@/\s]+\.[^@/\s]+$/;
const LETTERS_AND_DIGITS = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{8,}$/;
/** Version markers are route, not identifiers ("v1", "v2beta"). */
const VERSION = /^v\d+([a-z]+\d*)?$/i;

/** Does this path segment name an object rather than a collection or action? */
export function looksLikeId(segment: string): boolean {
  if (segment.length === 0 || VERSION.test(segment)) return false;
  return (
    NUMERIC.test(segment) ||
    UUID.test(segment) ||
    HEX_ID.test(segment) ||
    EMAIL.test(segment) ||
    LETTERS_AND_DIGITS.test(segment) ||
    segment.length > 40
  );
}

function safeDecode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').slice(0, MAX_SEGMENTS + 1);
}

export const heuristicTemplater: RouteTemplater = {
  match(path) {
    const objectIds: string[] = [];
    const parts = splitPath(path).map((segment) => {
      const decoded = safeDecode(segment);
      if (!looksLikeId(decoded)) return segment;
      objectIds.push(decoded.slice(0, 256));
      return '{id}';
    });
    return { route: parts.join('/') || '/', objectIds };
  },
};

interface CompiledTemplate {
  template: string;
  /** Literal segment, or null where the template has a parameter. */
  segments: (string | null)[];
  literals: number;
}

/**
 * Templates from an OpenAPI document's `paths` (2.0 or 3.x; only the keys are read). A path matching no template
 * falls back to the heuristics. Among matching templates the one with the most literal segments wins, as OpenAPI
 * requires ("/users/me" before "/users/{id}").
 */
export function openApiTemplater(document: unknown, basePath = ''): RouteTemplater {
  const paths =
    typeof document === 'object' && document !== null && 'paths' in document
      ? (document as { paths: unknown }).paths
      : undefined;
  if (typeof paths !== 'object' || paths === null) {
    throw new Error(
      'the OpenAPI document has no "paths" object; check that the file is an OpenAPI 2.0 or 3.x document',
    );
  }
  const byLength = new Map<number, CompiledTemplate[]>();
  for (const key of Object.keys(paths)) {
    const template = `${basePath.replace(/\/$/, '')}${key}`;
    const segments = template.split('/').map((s) => (/^\{[^}]+\}$/.test(s) ? null : s));
    const compiled: CompiledTemplate = {
      template: segments.map((s) => s ?? '{id}').join('/'),
      segments,
      literals: segments.filter((s) => s !== null).length,
    };
    const list = byLength.get(segments.length) ?? [];
    list.push(compiled);
    byLength.set(segments.length, list);
  }
  for (const list of byLength.values()) list.sort((a, b) => b.literals - a.literals);

  return {
    match(path) {
      const parts = splitPath(path);
      for (const candidate of byLength.get(parts.length) ?? []) {
        const ids: string[] = [];
        let ok = true;
        for (let i = 0; i < parts.length; i++) {
          const literal = candidate.segments[i];
          const part = parts[i] ?? '';
          if (literal === null) {
            if (part === '') {
              ok = false;
              break;
            }
            ids.push(safeDecode(part).slice(0, 256));
          } else if (literal !== part) {
            ok = false;
            break;
          }
        }
        if (ok) return { route: candidate.template, objectIds: ids };
      }
      return heuristicTemplater.match(path);
    },
  };
}
