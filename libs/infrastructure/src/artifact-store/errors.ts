/** Base class of every artifact store failure, so callers can catch them as one family. */
export class ArtifactStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArtifactKeyError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class ArtifactTooLargeError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    readonly maxSizeBytes: number,
  ) {
    super(`artifact ${JSON.stringify(key)} exceeds the limit of ${maxSizeBytes} bytes`);
  }
}

export class ChecksumMismatchError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(`artifact ${JSON.stringify(key)} has SHA-256 ${actualSha256}, expected ${expectedSha256}`);
  }
}

export class ArtifactNotFoundError extends ArtifactStoreError {
  constructor(readonly key: string) {
    super(`no artifact under key ${JSON.stringify(key)}`);
  }
}

/** The requested range lies outside the artifact (HTTP 416 Range Not Satisfiable). */
export class InvalidByteRangeError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    readonly range: { readonly start?: number; readonly end?: number },
    readonly sizeBytes: number,
  ) {
    super(
      `byte range ${range.start ?? 0}-${range.end ?? ''} is not satisfiable for artifact ` +
        `${JSON.stringify(key)} of ${sizeBytes} bytes`,
    );
  }
}
