import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const INCOMPLETE = Symbol('incompleteBody');

/** The Content-Length of a request whose body was cut short, or undefined for a whole one. */
export function incompleteBodyDeclaredBytes(request: IncomingMessage): number | undefined {
  return (request as IncomingMessage & { [INCOMPLETE]?: number })[INCOMPLETE];
}

/**
 * By default Node answers a body cut short (the client half-closed the connection early) with a
 * bare `400` and destroys the socket, so the handler reading the body never gets to say why or
 * to clean up first. This fails the request being read with an `IncompleteBodyError` instead: the
 * handler's read rejects, it removes what it staged and replies with a precise 400 over the
 * still-writable half of the connection, which is then closed. Other client errors keep Node's
 * default answer.
 */
export function failIncompleteBodies(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const response = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    const request: IncomingMessage | undefined = response?.req;
    if (error.code === 'HPE_INVALID_EOF_STATE' && request !== undefined && response !== undefined && !response.headersSent) {
      response.shouldKeepAlive = false;
      (request as IncomingMessage & { [INCOMPLETE]?: number })[INCOMPLETE] = Number(request.headers['content-length'] ?? 0);
      // End the body stream where the bytes stopped. Marked complete, so that destroying it once
      // read (stream.pipeline does) does not tear down the socket the reply still has to go out on.
      request.complete = true;
      request.push(null);
      return;
    }
    if (socket.writable && !(response?.headersSent ?? false)) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy(error);
  });
}
