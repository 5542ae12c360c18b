// Compiled code imports the workspace libraries by their alias (@hotswap/*); Node does not read
// tsconfig paths, so this hook maps each alias to its compiled entry under dist/.
import { register } from 'node:module';

register('./resolve-hook.mjs', import.meta.url);
