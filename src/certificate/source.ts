import * as fs from 'node:fs';
import { SourceError } from '../errors.js';
import type { CertificateSource } from '../inputs/settings.js';

export const MAX_SOURCE_BYTES = 1024 * 1024;

/** Reads the bytes of an inline or file source (rule 1: the file exists, is regular, is at most 1 MiB). */
export function readSourceBytes(source: Exclude<CertificateSource, { kind: 'id' }>): Buffer {
  if (source.kind === 'inline') {
    if (Buffer.byteLength(source.text) > MAX_SOURCE_BYTES) throw tooLarge('The certificate input');
    return Buffer.from(source.text, 'utf8');
  }
  const where = `certificate-file "${source.given}" (${source.path})`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw unreadable(where, code);
    throw new SourceError(
      `${where} does not exist.`,
      'The path is relative to GITHUB_WORKSPACE: check the step that writes the file ran before this one, and the spelling of the path.',
    );
  }
  if (!stat.isFile()) {
    const kind = stat.isDirectory() ? 'a directory' : 'not a regular file';
    throw new SourceError(
      `${where} is ${kind}, not the certificate file.`,
      'Point certificate-file at the PEM or DER file of the CA certificate itself.',
    );
  }
  if (stat.size > MAX_SOURCE_BYTES) throw tooLarge(where);
  // Read through one descriptor, at most 1 MiB and one byte: the file may have changed since the stat.
  let fd: number | undefined;
  try {
    fd = fs.openSync(source.path, 'r');
    if (!fs.fstatSync(fd).isFile())
      throw new SourceError(
        `${where} is not a regular file.`,
        'Point certificate-file at the PEM or DER file of the CA certificate itself.',
      );
    const buffer = Buffer.alloc(MAX_SOURCE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > MAX_SOURCE_BYTES) throw tooLarge(where);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw unreadable(where, (error as NodeJS.ErrnoException).code);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function unreadable(where: string, code: string | undefined): SourceError {
  return new SourceError(`${where} cannot be read (${code ?? 'error'}).`, 'Check the file permissions of the runner user.');
}

function tooLarge(what: string): SourceError {
  return new SourceError(
    `${what} is larger than 1 MiB: it cannot be one CA certificate.`,
    'Pass only the CA certificate in PEM (a few kilobytes), not a bundle or an archive.',
  );
}
