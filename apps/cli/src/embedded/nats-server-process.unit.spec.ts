import { describe, expect, it } from '@jest/globals';
import { findNatsServer, NatsServerMissingError } from './nats-server-process.js';

describe('finding nats-server', () => {
  it('stops with a clear error naming the package to install when nats-server is nowhere', () => {
    expect(() => findNatsServer({ PATH: '/nonexistent' }, [])).toThrow(NatsServerMissingError);
    expect(() => findNatsServer({ PATH: '/nonexistent' }, [])).toThrow(/apt-get install nats-server/);
  });

  it('refuses a NATS_SERVER_BIN that is not executable, naming it', () => {
    expect(() => findNatsServer({ NATS_SERVER_BIN: '/nonexistent/nats-server' })).toThrow('NATS_SERVER_BIN=/nonexistent/nats-server is not an executable file.');
  });

  it('finds the binary on the PATH or in the usual places', () => {
    expect(findNatsServer({ PATH: '/nonexistent' })).toMatch(/nats-server$/);
  });
});
