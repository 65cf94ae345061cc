/**
 * A loopback host is always reached directly, never through a proxy (src/api/client.ts). A test that must
 * go through the test proxy names the server by API_ALIAS, a name only the test proxy knows (startProxy
 * ([API_ALIAS]) sends it to 127.0.0.1), and, over https, presents a server certificate made for that name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openssl, tempDir, type MadeCertificate } from './certs.ts';

export const API_ALIAS = 'api.test';

/** `url` (on 127.0.0.1) as the test proxy's alias for it. */
export const viaAlias = (url: string): string => url.replace('127.0.0.1', API_ALIAS);

/** A server certificate signed by `ca` with openssl, for API_ALIAS, 127.0.0.1 and localhost. */
export function makeAliasServer(ca: MadeCertificate): { pem: string; keyPem: string } {
  const dir = tempDir();
  fs.writeFileSync(
    path.join(dir, 'server.ext'),
    `basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:${API_ALIAS},IP:127.0.0.1,DNS:localhost\n`,
  );
  const req = [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ];
  openssl([...req, '-subj', `/CN=${API_ALIAS}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  return { pem: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8'), keyPem: fs.readFileSync(path.join(dir, 'server.key'), 'utf8') };
}
