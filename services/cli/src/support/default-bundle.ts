// Where the default bundle that ships with vigil lives (models/bundles/default, rebuilt by npm run bundle:default):
// `vigil demo` scores with it, and `vigil replay` when no --bundle is given.
import { fileURLToPath } from 'node:url';

export const defaultBundleDir = () => fileURLToPath(new URL('../../../../models/bundles/default', import.meta.url));
