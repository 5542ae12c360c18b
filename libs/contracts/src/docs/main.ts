import { writeAsyncApi } from './write-asyncapi.js';

// `npm run docs`, from the workspace root.
console.log(`wrote ${writeAsyncApi(process.cwd())}`);
