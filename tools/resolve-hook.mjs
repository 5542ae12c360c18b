// Maps the workspace aliases (@hotswap/<lib or app>) to their compiled entry under dist/.
const LIBS = new Set(['contracts', 'domain', 'infrastructure']);
const APPS = new Set(['gateway', 'model-registry', 'validator', 'distributor', 'device-registry', 'monitor', 'edge-agent']);

export async function resolve(specifier, context, nextResolve) {
  const match = /^@hotswap\/([a-z-]+)$/.exec(specifier);
  if (match && (LIBS.has(match[1]) || APPS.has(match[1]))) {
    const folder = LIBS.has(match[1]) ? 'libs' : 'apps';
    return nextResolve(new URL(`../dist/${folder}/${match[1]}/src/index.js`, import.meta.url).href, context);
  }
  return nextResolve(specifier, context);
}
