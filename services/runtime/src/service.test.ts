// The one service lifecycle: ready once started, unhealthy when a run fails (and done rejects), stopped once and in
// order, and a start that fails leaves no ops port open.
import { createConnection } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './service.js';

const status = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

/** Whether anything still listens on the port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('startService', () => {
  afterEach(() => metrics.disable());

  it('reports ready once started, stops once and in order, and exposes what the service gives', async () => {
    const steps: string[] = [];
    let finish = () => {};
    const service = await startService('test', { port: 0 }, async ({ runs }) => {
      expect(steps).toEqual([]);
      runs.push(new Promise<void>((resolve) => (finish = resolve)));
      return {
        fields: { what: 'a test' },
        exposes: { answer: 42 },
        teardown: async () => {
          steps.push('teardown');
          finish();
        },
      };
    });
    expect(service.answer).toBe(42);
    expect(await status(service.opsPort, '/readyz')).toBe(200);
    expect(await status(service.opsPort, '/healthz')).toBe(200);
    await Promise.all([service.stop(), service.stop()]);
    await service.stop();
    expect(steps).toEqual(['teardown']);
    await expect(service.done).resolves.toBeUndefined();
    expect(await listening(service.opsPort)).toBe(false);
  });

  it('turns unhealthy when a run fails, even one that fails while the service is still starting', async () => {
    const service = await startService('test', { port: 0 }, async ({ runs }) => {
      runs.push(Promise.reject(new Error('the broker is gone')));
      // The start goes on after the failure: no unhandled rejection may escape meanwhile.
      await new Promise((r) => setTimeout(r, 20));
      return { fields: {}, exposes: {}, teardown: async () => {} };
    });
    await expect(service.done).rejects.toThrow('the broker is gone');
    expect(await status(service.opsPort, '/healthz')).toBe(503);
    await service.stop();
  });

  it('closes its ops port when the start fails', async () => {
    let port = 0;
    await expect(
      startService('test', { port: 0 }, async ({ ops }) => {
        port = ops.port;
        throw new Error('the bundle does not match');
      }),
    ).rejects.toThrow('the bundle does not match');
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
  });
});
