// `vigil detect --config FILE`: the detector service.
import { detectorConfigSchema, lintDetectorConfig, startDetector } from '@vigil/detector';
import { runUntilDone } from '@vigil/runtime';
import { defineCommand } from '../command.js';
import { configOrExit } from '../support/load-config.js';

export async function detect(file: string | undefined): Promise<number> {
  const config = configOrExit('detect', detectorConfigSchema, file, lintDetectorConfig);
  if (typeof config === 'number') return config;
  const detector = await startDetector(config);
  return runUntilDone('detector', detector);
}

export const command = defineCommand({
  name: 'detect',
  overview: [
    ['detect --config FILE', 'Run the detector service (Kafka in; keyed topic, dead-letter topic, ClickHouse out)'],
  ],
  help: `Usage: vigil detect --config FILE

Runs the detector service. FILE is YAML (see config/detector.example.yaml); every key can be overridden with
VIGIL_<KEY>__<SUBKEY>, e.g. VIGIL_KAFKA__BROKERS=k1:9092 VIGIL_PEPPER__SECRET=... Stops gracefully on SIGTERM.
`,
  options: { config: { type: 'string' } },
  run: (flags) => detect(flags.config),
});
