import { forMarkdown } from '../text.js';

/**
 * Makes text safe inside a Markdown table cell: redacted, one line, no HTML, no column break, no link,
 * image or mention (see `forMarkdown` in text.ts).
 */
export function cell(text: string): string {
  return forMarkdown(text);
}
