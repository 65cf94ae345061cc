import * as fs from 'node:fs';
import { ActionError } from '../errors.js';
import type { CertificateSource } from '../inputs.js';

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
  } catch {
    throw new ActionError(`${where} does not exist.`, {
      title: 'source',
      hint: 'The path is relative to GITHUB_WORKSPACE: check the step that writes the file ran before this one, and the spelling of the path.',
    });
  }
  if (!stat.isFile()) {
    throw new ActionError(`${where} is not a regular file.`, { title: 'source', hint: 'Point certificate-file at the PEM or DER file of the CA certificate itself.' });
  }
  if (stat.size > MAX_SOURCE_BYTES) throw tooLarge(where);
  try {
    return fs.readFileSync(source.path);
  } catch (error) {
    throw new ActionError(`${where} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, {
      title: 'source',
      hint: 'Check the file permissions of the runner user.',
    });
  }
}

function tooLarge(what: string): ActionError {
  return new ActionError(`${what} is larger than 1 MiB: it cannot be one CA certificate.`, {
    title: 'source',
    hint: 'Pass only the CA certificate in PEM (a few kilobytes), not a bundle or an archive.',
  });
}
