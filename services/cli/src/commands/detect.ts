// `vigil detect --config FILE`: the detector service.
import { detectorConfigSchema, lintDetectorConfig, startDetector } from '@vigil/detector';
import { runUntilDone } from '@vigil/runtime';
import { configOrExit } from './load-config.js';

export async function detect(file: string | undefined): Promise<number> {
  const config = configOrExit('detect', detectorConfigSchema, file, lintDetectorConfig);
  if (typeof config === 'number') return config;
  const detector = await startDetector(config);
  return runUntilDone('detector', detector);
}
