/**
 * Outside text on its way out of the process. (Placeholder until the redaction work lands: `redact`
 * removes anything shaped like an OpenAI key, and `cut` redacts before it cuts.)
 */
const OPENAI_KEY = /sk-[A-Za-z0-9_-]{8,}/g;

export function redact(text: string): string {
  return text.replace(OPENAI_KEY, '***');
}

/** Redacts, then cuts to `max` characters, so that no fragment of a secret survives the cut. */
export function cut(text: string, max: number): string {
  const clean = redact(text);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
