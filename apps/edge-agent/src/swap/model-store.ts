/**
 * The device's disk: `<dataDir>/models/<modelId>/model.onnx` (and `.part` while downloading) and
 * `<dataDir>/state.json`, which names the active model and the previous one, so a restarted agent
 * serves its last good model before it connects and can roll back without a download.
 */
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SignedManifest } from '@hotswap/contracts';

export interface InstalledModel {
  readonly modelId: string;
  /** Absolute path of the verified `model.onnx`. */
  readonly artifactPath: string;
  /** The signed manifest the artifact was verified against. */
  readonly release: SignedManifest;
}

export interface AgentState {
  readonly version: 1;
  readonly active: InstalledModel;
  readonly previous?: InstalledModel;
}

/** state.json exists but cannot be used; the agent then starts without a model. */
export class CorruptStateError extends Error {
  override readonly name = 'CorruptStateError';
}

export class ModelStore {
  readonly statePath: string;
  readonly modelsDir: string;

  constructor(readonly dataDir: string) {
    this.statePath = join(dataDir, 'state.json');
    this.modelsDir = join(dataDir, 'models');
  }

  modelDir(modelId: string): string {
    return join(this.modelsDir, modelId);
  }

  artifactPath(modelId: string): string {
    return join(this.modelDir(modelId), 'model.onnx');
  }

  partPath(modelId: string): string {
    return join(this.modelDir(modelId), 'model.onnx.part');
  }

  async init(): Promise<void> {
    await mkdir(this.modelsDir, { recursive: true });
  }

  /** The saved state, or undefined when the device never activated a model. */
  async readState(): Promise<AgentState | undefined> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorruptStateError(`cannot read ${this.statePath}`, { cause: err });
    }
    let state: AgentState;
    try {
      state = JSON.parse(text) as AgentState;
    } catch (err) {
      throw new CorruptStateError(`${this.statePath} is not valid JSON`, { cause: err });
    }
    if (state?.version !== 1 || typeof state.active?.modelId !== 'string' || typeof state.active.artifactPath !== 'string') {
      throw new CorruptStateError(`${this.statePath} does not hold a version 1 agent state`);
    }
    return state;
  }

  /** Writes to a temp file and renames it, so a crash never leaves a half-written state. */
  async writeState(state: AgentState): Promise<void> {
    const tmp = `${this.statePath}.tmp`;
    await writeFile(tmp, JSON.stringify(state, null, 2));
    await rename(tmp, this.statePath);
  }

  /** Deletes every model directory except the ones named (the active and previous models). */
  async prune(keep: readonly string[]): Promise<string[]> {
    const entries = await readdir(this.modelsDir).catch(() => [] as string[]);
    const removed = entries.filter((e) => !keep.includes(e));
    await Promise.all(removed.map((e) => rm(join(this.modelsDir, e), { recursive: true, force: true })));
    return removed;
  }

  /** Bytes available to this (unprivileged) process on the data directory's file system. */
  async freeBytes(): Promise<number> {
    const s = await statfs(this.dataDir);
    return s.bavail * s.bsize;
  }

  async sizeOf(path: string): Promise<number | undefined> {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
