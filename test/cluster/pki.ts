// Test PKI made with openssl: one CA, one admin cert (system:masters) that is also the
// apiserver's serving cert, a restricted user's cert, and the service-account signing key.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `openssl ${args[0]} failed: ${stderr.trim() || String(error)}\n` +
        'The local control plane needs openssl: apt-get install openssl',
      { cause: error },
    );
  }
}

function clientCert(dir: string, name: string, subject: string, server: boolean, ca = 'ca'): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ]);
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${server ? 'serverAuth,clientAuth' : 'clientAuth'}`,
  ];
  if (server) {
    ext.push(
      'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,' +
        'DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1',
    );
  }
  writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-sha256',
    '-days',
    '3650',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** A self-signed CA: `${name}.key` and `${name}.crt` in `dir`. */
function certificateAuthority(dir: string, name: string, commonName: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '3650',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
}

/** Creates the PKI in `dir` (which must exist). */
export function createPki(dir: string): void {
  certificateAuthority(dir, 'ca', 'capstan-test-ca');
  clientCert(dir, 'admin', '/O=system:masters/CN=capstan-test-admin', true);
  clientCert(dir, 'deployer', '/O=capstan:deployers/CN=capstan-deployer', false);
  clientCert(dir, 'reader', '/O=capstan:readers/CN=capstan-reader', false);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

/**
 * The OpenID issuer's own PKI in `dir`: a CA the API server is told to trust for the issuer only,
 * the issuer's serving cert (127.0.0.1), and the RSA key it signs ID tokens with.
 */
export function createIssuerPki(dir: string): void {
  certificateAuthority(dir, 'oidc-ca', 'capstan-test-oidc-ca');
  clientCert(dir, 'oidc-serving', '/CN=capstan-test-oidc-issuer', true, 'oidc-ca');
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    'oidc-signing.key',
  ]);
}
