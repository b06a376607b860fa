// `vigil revoke --config FILE`: the revoker service. `vigil revoke --undo ID --config FILE`: lift one enforcement
// (ID is "kind:value", e.g. sub:alice or jti:…) at every gateway, tombstone it on vigil.revocations, audit it.
// Running revokers follow vigil.revocations, so they learn of the lift; lifting twice is harmless.
import { lintRevokerConfig, openRevoker, revokerConfigSchema, startRevoker } from '@vigil/revoker';
import { runUntilDone } from '@vigil/runtime';
import { defineCommand } from '../command.js';
import { configOrExit } from '../support/load-config.js';

export async function revoke(options: { config?: string | undefined; undo?: string | undefined }): Promise<number> {
  const config = configOrExit('revoke', revokerConfigSchema, options.config, lintRevokerConfig);
  if (typeof config === 'number') return config;
  if (options.undo !== undefined) {
    const { revoker, close } = await openRevoker(config, () => () => undefined);
    try {
      const lifted = await revoker.undo(options.undo);
      process.stdout.write(
        lifted ? `${options.undo}: lifted at every gateway\n` : `${options.undo}: nothing in force by that id\n`,
      );
      return lifted ? 0 : 1;
    } finally {
      await close();
    }
  }
  const running = await startRevoker(config);
  return runUntilDone('revoker', running);
}

export const command = defineCommand({
  name: 'revoke',
  overview: [
    [
      'revoke --config FILE',
      'Run the revoker service (vigil.decisions in; gateway lists, vigil.revocations, audit out)',
    ],
    ['revoke --undo ID --config FILE', 'Lift one enforcement (ID is kind:value, e.g. sub:alice) at every gateway'],
  ],
  help: `Usage: vigil revoke --config FILE
       vigil revoke --undo ID --config FILE

Runs the revoker: consumes decision records and enforces revoke / throttle / step_up at the configured gateway
adapters (HAProxy Runtime API, Redis, HTTP, Kong Admin API, IdP sessions), behind the guardrails — allowlist, rate
caps (over a cap: alert only, and the SOC is told), idempotency, and dry run until enforce: true. Every action is
audited (ClickHouse revocations table) and recorded on the compacted topic vigil.revocations. See
config/revoker.example.yaml. --undo lifts one enforcement everywhere; ID is kind:value (sub:alice, jti:…, ip:…).
`,
  options: { config: { type: 'string' }, undo: { type: 'string' } },
  run: (flags) => revoke(flags),
});
