import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Controller, ForbiddenException, Get, Inject, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { verifySignedUrl } from '@hotswap/infrastructure';
import { Public } from '../../auth/roles.js';
import { RangeNotSatisfiableException } from '../../errors/http-error.filter.js';
import { GATEWAY_DEPS, type GatewayDeps } from '../../gateway-deps.js';
import { decideRange } from './byte-range.js';

/**
 * Devices download artifacts by HMAC-signed URL (no token), with Range support so an interrupted
 * download resumes where it stopped.
 */
@Controller('artifacts')
@Public()
export class DownloadArtifactController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Get('*key')
  async download(
    @Param('key') segments: string[],
    @Query('expires') expires: unknown,
    @Query('sig') sig: unknown,
    @Req() request: IncomingMessage,
    @Res() response: ServerResponse,
  ): Promise<void> {
    const key = segments.join('/');
    if (typeof expires !== 'string' || typeof sig !== 'string') {
      throw new ForbiddenException('download URL is not signed: the expires and sig query parameters are required');
    }
    const verdict = verifySignedUrl(key, expires, sig, {
      now: this.deps.clock(), secret: this.deps.urlSigningSecret,
      ...(this.deps.urlSigningPreviousSecrets === undefined ? {} : { previousSecrets: this.deps.urlSigningPreviousSecrets }),
    });
    if (!verdict.ok) {
      throw new ForbiddenException(verdict.reason === 'expired' ? 'download URL expired' : 'download URL signature is invalid');
    }
    const stat = await this.deps.artifacts.stat(key);
    if (stat === undefined) throw new NotFoundException(`no artifact under ${key}`);

    const etag = `"${stat.sha256}"`;
    // If-Range: resume only if the artifact is still the one the client started with.
    const ifRange = request.headers['if-range'];
    const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
    const decision = decideRange(rangeHeader, stat.sizeBytes);
    if (decision.kind === 'unsatisfiable') throw new RangeNotSatisfiableException(rangeHeader ?? '', stat.sizeBytes);

    const range = decision.kind === 'partial' ? decision.range : undefined;
    const isHead = request.method === 'HEAD';
    const body = isHead ? undefined : await this.deps.artifacts.get(key, range);
    response.statusCode = range === undefined ? 200 : 206;
    response.setHeader('Content-Type', 'application/octet-stream');
    response.setHeader('Accept-Ranges', 'bytes');
    response.setHeader('ETag', etag);
    response.setHeader('Content-Length', String(range === undefined ? stat.sizeBytes : range.end - range.start + 1));
    if (range !== undefined) response.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${stat.sizeBytes}`);
    if (body === undefined) {
      response.end();
      return;
    }
    try {
      await pipeline(body, response);
    } catch (error) {
      // A device that hangs up mid-download resumes later with Range; nothing to report.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
    }
  }
}
