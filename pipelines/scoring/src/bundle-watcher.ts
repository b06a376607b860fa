// Loads a new bundle when the one in a directory changes (a new manifest bundle_id), in the background, and hands it
// over only once it has loaded and passed the feature-schema check — a half-written or mismatched bundle never
// replaces the working one; the failure is reported and the old bundle keeps scoring. Operators publish a bundle by
// writing it to a new directory and renaming it into place (an atomic swap of the directory).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelBundle } from '@vigil/bundle';

export interface WatcherEvents {
  loaded: (bundle: ModelBundle) => void;
  failed: (error: Error) => void;
}

export class BundleWatcher {
  private current: string;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly schemaHash: string,
    currentId: string,
    private readonly on: WatcherEvents,
  ) {
    this.current = currentId;
  }

  /** Checks once; resolves with the new bundle when one was loaded. */
  async check(): Promise<ModelBundle | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      let id: string;
      try {
        id =
          (JSON.parse(await readFile(join(this.dir, 'manifest.json'), 'utf8')) as { bundle_id?: string }).bundle_id ??
          '';
      } catch {
        return undefined; // Being replaced right now: the next check sees the finished one.
      }
      if (id === this.current || id === '') return undefined;
      try {
        const bundle = await ModelBundle.load(this.dir, this.schemaHash);
        this.current = bundle.id;
        this.on.loaded(bundle);
        return bundle;
      } catch (err) {
        this.current = id; // Do not retry the same broken bundle every interval.
        this.on.failed(err instanceof Error ? err : new Error(String(err)));
        return undefined;
      }
    } finally {
      this.busy = false;
    }
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
