// `vigil detect --config FILE`: the detector service.
import { type DetectorConfig, detectorConfigSchema, lintDetectorConfig, startDetector } from '@vigil/detector';
import { ConfigError, loadConfig, runUntilDone } from '@vigil/runtime';

export async function detect(file: string | undefined): Promise<number> {
  let config: Readonly<DetectorConfig>;
  try {
    config = loadConfig(detectorConfigSchema, file, process.env, lintDetectorConfig);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil detect: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const detector = await startDetector(config);
  return runUntilDone('detector', detector);
}
