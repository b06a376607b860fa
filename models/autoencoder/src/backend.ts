// Which TensorFlow.js backend runs the autoencoder: @tensorflow/tfjs-node (native libtensorflow) when it loads, else
// @tensorflow/tfjs-backend-wasm, else the pure-JS cpu backend. tfjs-node is an optional dependency — its install
// script downloads libtensorflow, which fails on machines without that network access — so every way it can fail to
// load (module missing, native binding missing, ABI mismatch) falls through to wasm. The choice is made once per
// process and reported (`backendName()`), so logs and benchmarks say what ran.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

// Production mode: skips tfjs debug checks and the console banner the cpu backend prints on first use in Node
// (vigil reports the backend itself, through its own log events).
tf.env().set('PROD', true);

let chosen: Promise<BackendName> | undefined;

async function tryNode(): Promise<boolean> {
  try {
    // A variable specifier keeps bundlers and the type checker from requiring the optional module.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const require = createRequire(import.meta.url);
    // In Node the wasm binaries are read from the package's dist folder (the path must end with a slash).
    setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** Selects the backend once; later calls return the first choice. */
export function useBackend(preference: BackendPreference = 'auto'): Promise<BackendName> {
  chosen ??= (async () => {
    if ((preference === 'auto' || preference === 'tensorflow') && (await tryNode())) return 'tensorflow';
    if ((preference === 'auto' || preference === 'wasm' || preference === 'tensorflow') && (await tryWasm()))
      return 'wasm';
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return chosen;
}

/** Switches to a named backend (tests comparing backends); returns whether it is available. */
export async function switchBackend(name: BackendName): Promise<boolean> {
  const ok = name === 'tensorflow' ? await tryNode() : name === 'wasm' ? await tryWasm() : await tf.setBackend('cpu');
  if (ok) chosen = Promise.resolve(name);
  return ok;
}

export function backendName(): string {
  return tf.getBackend();
}
