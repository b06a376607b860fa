// Public surface of @vigil/autoencoder.
export type { AutoencoderOptions, Matrix, Reconstruction, TrainingReport } from './autoencoder.js';
export { Autoencoder, DEFAULT_AUTOENCODER_OPTIONS } from './autoencoder.js';
export type { BackendName, BackendPreference } from './backend.js';
export { backendName, switchBackend, useBackend } from './backend.js';
