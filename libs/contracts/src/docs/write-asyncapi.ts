import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApiDocument, type AsyncApiDocument } from './asyncapi.js';

/** The committed AsyncAPI document, relative to the workspace root. */
export const ASYNCAPI_FILE = 'docs/asyncapi.json';

/** The document of the workspace's contracts. */
export function workspaceAsyncApi(workspaceRoot: string): AsyncApiDocument {
  return buildAsyncApiDocument(join(workspaceRoot, 'libs/contracts/src/index.ts'));
}

/** The document as committed: generation order, two-space indent, a final newline. */
export function asyncApiText(doc: AsyncApiDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `npm run docs`: regenerates docs/asyncapi.json from libs/contracts. */
export function writeAsyncApi(workspaceRoot: string): string {
  const file = join(workspaceRoot, ASYNCAPI_FILE);
  writeFileSync(file, asyncApiText(workspaceAsyncApi(workspaceRoot)));
  return file;
}
