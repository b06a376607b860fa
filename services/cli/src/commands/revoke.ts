// `vigil revoke --config FILE`: the revoker service. `vigil revoke --undo ID --config FILE`: lift one enforcement
// (ID is "kind:value", e.g. sub:alice or jti:…) at every gateway, tombstone it on vigil.revocations, audit it.
// A running revoker keeps its own copy of the store until it restarts; lifting twice is harmless.
import { lintRevokerConfig, openRevoker, type RevokerConfig, revokerConfigSchema, startRevoker } from '@vigil/revoker';
import { ConfigError, loadConfig, runUntilDone } from '@vigil/runtime';

function load(file: string | undefined): RevokerConfig | number {
  try {
    return loadConfig(revokerConfigSchema, file, process.env, lintRevokerConfig);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil revoke: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

export async function revoke(options: { config?: string | undefined; undo?: string | undefined }): Promise<number> {
  const config = load(options.config);
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
