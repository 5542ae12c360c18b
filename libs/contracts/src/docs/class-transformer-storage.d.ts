// class-transformer keeps `@Type` metadata in a storage its package entry does not export.
declare module 'class-transformer/cjs/storage.js' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage.js';
}
