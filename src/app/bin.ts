/**
 * The `kpi` command's entry. `bin/kpi.js` loads its bundle (dist/kpi.bundle.js, built by
 * `npm run build`); `npm run kpi` runs it through tsx.
 */
import { main } from './cli';

main();
