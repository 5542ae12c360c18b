import { describe, expect, it } from '@jest/globals';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { Commands, Queries } from '@hotswap/contracts';
import { ArtifactNotFoundError, InvalidReplyError, MessagingError, RemoteError } from '@hotswap/infrastructure';
import { toProblem } from './http-error.filter.js';

describe('toProblem', () => {
  it.each([
    ['NOT_FOUND', 404],
    ['CONFLICT', 409],
    ['BAD_REQUEST', 400],
    ['UNPROCESSABLE', 422],
    ['UNAVAILABLE', 503],
  ])('maps a service rejection %s to %i with its message and details', (code, statusCode) => {
    expect(toProblem(new RemoteError(Queries.getModel, code, 'model m-1.0.0: nope', { id: 'm-1.0.0' }))).toEqual({
      statusCode,
      message: 'model m-1.0.0: nope',
      details: { id: 'm-1.0.0' },
    });
  });

  it('hides the message of a service failure and of an unknown code', () => {
    expect(toProblem(new RemoteError(Commands.uploadModel, 'INTERNAL', 'relation "models" does not exist'))).toEqual({
      statusCode: 500,
      message: 'model-registry failed to handle the request',
      details: { subject: Commands.uploadModel },
    });
    expect(toProblem(new RemoteError(Commands.uploadModel, 'WEIRD', 'something')).statusCode).toBe(502);
  });

  it('answers 502 for a reply that breaks the protocol', () => {
    expect(toProblem(new InvalidReplyError(Queries.getModel, 'not JSON'))).toEqual({
      statusCode: 502,
      message: `invalid reply from ${Queries.getModel}: not JSON`,
    });
    expect(toProblem(new MessagingError('connection closed')).statusCode).toBe(502);
  });

  it('keeps the status, message and details of HTTP exceptions', () => {
    expect(toProblem(new BadRequestException({ message: ['a', 'b'], details: { x: 1 } }))).toEqual({
      statusCode: 400,
      message: 'a; b',
      details: { x: 1 },
    });
    expect(toProblem(new BadRequestException())).toEqual({ statusCode: 400, message: 'Bad Request' });
  });

  it('says what was wrong with a body the JSON parser refused', () => {
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
    expect(toProblem(new PayloadTooLargeException('Payload Too Large', { cause: tooLarge }))).toEqual({
      statusCode: 413,
      message: 'request entity too large',
    });
  });

  it('answers 404 for a vanished artifact and a silent 500 for anything else', () => {
    expect(toProblem(new ArtifactNotFoundError('models/m/model.onnx'))).toEqual({ statusCode: 404, message: 'no such artifact' });
    expect(toProblem(new TypeError('x is undefined'))).toEqual({ statusCode: 500, message: 'internal error' });
    expect(toProblem('thrown string')).toEqual({ statusCode: 500, message: 'internal error' });
  });
});
