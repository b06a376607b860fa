// `vigil revoke --config FILE`: the revoker service. `vigil revoke --undo ID --config FILE`: lift one enforcement
// (ID is "kind:value", e.g. sub:alice or jti:…) at every gateway, tombstone it on vigil.revocations, audit it.
// Running revokers follow vigil.revocations, so they learn of the lift; lifting twice is harmless.
import { lintRevokerConfig, openRevoker, revokerConfigSchema, startRevoker } from '@vigil/revoker';
import { runUntilDone } from '@vigil/runtime';
import { configOrExit } from './load-config.js';

export async function revoke(options: { config?: string | undefined; undo?: string | undefined }): Promise<number> {
  const config = configOrExit('revoke', revokerConfigSchema, options.config, lintRevokerConfig);
  if (typeof config === 'number') return config;
  if (options.undo !== undefined) {
    const { revoker, close } = await openRevoker(config, () => () => undefined);
    try {
      const lifted = await revoker.undo(options.undo);
      process.stdout.write(lifted ? `${options.undo}: lifted at every gateway\n` : `${options.undo}: nothing in force by that id\n`);
      return lifted ? 0 : 1;
    } finally {
      await close();
    }
  }
  const running = await startRevoker(config);
  return runUntilDone('revoker', running);
}
