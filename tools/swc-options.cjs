// One swc configuration for the build (tools/build.mjs) and for Jest (@swc/jest):
// TypeScript with legacy decorators and emitted metadata (NestJS DI needs both), compiled to CommonJS.
// ESM-only dependencies are loaded at run time through Node 24's require(esm).
module.exports = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2024',
    keepClassNames: true,
  },
  module: { type: 'commonjs', strictMode: true, ignoreDynamic: true },
  sourceMaps: true,
};
