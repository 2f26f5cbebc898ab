// A ttrpc server for one test: listening on a socket in a temp dir, closed at teardown.
import * as net from 'node:net';
import * as path from 'node:path';
import type { Test } from 'tap';
import { TtrpcServer, type ServerOptions } from '../../src/shim/ttrpc';
import { tempDir } from '../lib';

/** Serves `options` on a new socket; returns its path. */
export async function serveTtrpc(t: Test, options: ServerOptions): Promise<string> {
  const socket = path.join(tempDir(t, 'ttrpc'), 's');
  const server = new TtrpcServer(options);
  const listener = net.createServer();
  server.serve(listener);
  await new Promise<void>((resolve) => listener.listen(socket, resolve));
  t.teardown(() => {
    server.close();
    listener.close();
  });
  return socket;
}
