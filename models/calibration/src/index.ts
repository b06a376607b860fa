// Public surface of @vigil/calibration.
export type { SerialisedScaler } from './robust-scaler.js';
export { RobustScaler, scalerSchema } from './robust-scaler.js';
export type { CalibratorOptions, SerialisedCalibrator } from './score-calibrator.js';
export { calibratorSchema, groupThreshold, ScoreCalibrator } from './score-calibrator.js';
