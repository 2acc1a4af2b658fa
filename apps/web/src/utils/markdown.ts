import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

/**
 * Markdown for user-written text (record comments). Two layers: markdown-it with raw HTML off
 * (so `<script>` stays text) and its link check (no javascript:/vbscript:/file:/data: links),
 * then DOMPurify over the result in case either misses something. Images are off: a comment
 * should not make every reader's browser fetch a URL of the author's choosing.
 */
const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false }).disable(['image']);

const ALLOWED_TAGS = ['p', 'br', 'strong', 'em', 's', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td'];
const ALLOWED_ATTR = ['href', 'title', 'start', 'colspan', 'rowspan', 'align'];
const SAFE_LINK = /^(?:https?:|mailto:)/i;

let hooked = false;
function purifier() {
  if (!hooked) {
    // Links open in a new tab without handing the opener over, and only web or mail links survive.
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName !== 'A') return;
      const href = node.getAttribute('href') ?? '';
      if (!SAFE_LINK.test(href.trim())) node.removeAttribute('href');
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    });
    hooked = true;
  }
  return DOMPurify;
}

/** Markdown → sanitized HTML, safe for `v-html`. */
export function renderMarkdown(source: string): string {
  return purifier().sanitize(md.render(source), { ALLOWED_TAGS, ALLOWED_ATTR: [...ALLOWED_ATTR, 'target', 'rel'], ALLOW_DATA_ATTR: false });
}
