import { describe, expect, it } from 'vitest';
import { heuristicTemplater, openApiTemplater } from './template.js';

describe('route templates', () => {
  it('replaces identifier-like segments by heuristics', () => {
    expect(heuristicTemplater.match('/v1/accounts/12345/transactions')).toEqual({
      route: '/v1/accounts/{id}/transactions',
      objectIds: ['12345'],
    });
    expect(heuristicTemplater.match('/v2/users/3f2b8c1e-1111-4a2b-9c3d-aaaaaaaaaaaa')).toEqual({
      route: '/v2/users/{id}',
      objectIds: ['3f2b8c1e-1111-4a2b-9c3d-aaaaaaaaaaaa'],
    });
    expect(heuristicTemplater.match('/v1/payees/alice%40example.com').route).toBe('/v1/payees/{id}');
    expect(heuristicTemplater.match('/health').route).toBe('/health');
  });

  it('uses the OpenAPI document exactly, literal segments first, and falls back to heuristics', () => {
    const routes = openApiTemplater(
      { paths: { '/users/{userId}': {}, '/users/me': {}, '/accounts/{accountId}/cards/{cardId}': {} } },
      '/v1',
    );
    expect(routes.match('/v1/users/me')).toEqual({ route: '/v1/users/me', objectIds: [] });
    expect(routes.match('/v1/users/bob')).toEqual({ route: '/v1/users/{id}', objectIds: ['bob'] });
    expect(routes.match('/v1/accounts/a1/cards/c2')).toEqual({
      route: '/v1/accounts/{id}/cards/{id}',
      objectIds: ['a1', 'c2'],
    });
    expect(routes.match('/v9/other/77').route).toBe('/v9/other/{id}');
  });

  it('refuses a document without paths, saying what is expected', () => {
    expect(() => openApiTemplater({ openapi: '3.1.0' })).toThrow(/no "paths" object/);
  });
});
