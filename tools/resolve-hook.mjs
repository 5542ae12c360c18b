const LIBS = new Set(['contracts', 'domain', 'infrastructure']);

export async function resolve(specifier, context, nextResolve) {
  const match = /^@hotswap\/([a-z-]+)$/.exec(specifier);
  if (match && LIBS.has(match[1])) {
    return nextResolve(new URL(`../dist/libs/${match[1]}/src/index.js`, import.meta.url).href, context);
  }
  return nextResolve(specifier, context);
}
