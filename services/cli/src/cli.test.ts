// The built CLI as a user runs it: help, the embedded demo end to end, config checking with its exit codes.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../config/detector.example.yaml', import.meta.url));
const vigil = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('vigil CLI', () => {
  it('answers --help for every command', () => {
    for (const cmd of ['demo', 'detect', 'parse', 'simulate', 'config']) {
      const r = vigil([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: vigil /);
    }
    expect(vigil(['--help']).stdout).toMatch(/Commands:/);
    expect(vigil(['nonsense']).status).toBe(2);
  });

  it('runs the demo with no external service and reports every stage', () => {
    const out = execFileSync(process.execPath, [BIN, 'demo', '--events', '3000'], { encoding: 'utf8' });
    expect(out).toMatch(/records in\s+3000/);
    expect(out).toMatch(/dead letters\s+6 of 6 malformed/);
    expect(out).toMatch(/raw tokens in output none/);
    expect(out).toMatch(/features\s+31 per event/);
  });

  it('checks a config: valid example exits 0, a bad override exits 2 with the fix', () => {
    expect(vigil(['config', 'check', EXAMPLE]).status).toBe(0);
    const bad = vigil(['config', 'check', EXAMPLE], { VIGIL_KAFKA__BROKERS: 'no-port' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/kafka\.brokers\.0: a broker is host:port/);
  });
});
