// @vitest-environment jsdom
// jsdom, not happy-dom: DOMPurify does not walk happy-dom 21 trees (its hooks never see the elements), so only jsdom shows the sanitizer at work.
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { RecordComment } from '../../api/types';
import { renderMarkdown } from '../../utils/markdown';
import LabelingComments from './LabelingComments.vue';

const comment = (id: string, body: string): RecordComment => ({ id, author: 'alice', body, createdAt: '2026-11-27T10:00:00.000Z' });
const noop = async () => undefined;

function mountWith(bodies: string[]) {
  return mount(LabelingComments, { props: { comments: bodies.map((b, i) => comment(`c${i}`, b)), add: noop, remove: noop } });
}

/** Every way an attribute or element could run code in the rendered comments. */
function scriptingIn(root: Element): string[] {
  const found: string[] = [];
  for (const el of [root, ...root.querySelectorAll('*')]) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'style', 'img', 'svg', 'math', 'form', 'input', 'base', 'meta', 'link'].includes(tag)) found.push(`<${tag}>`);
    for (const attr of el.getAttributeNames()) {
      const value = el.getAttribute(attr) ?? '';
      if (/^on/i.test(attr)) found.push(`${tag}[${attr}]`);
      if (['href', 'src', 'xlink:href', 'action', 'formaction'].includes(attr) && !/^(https?:|mailto:)/i.test(value.trim())) found.push(`${tag}[${attr}=${value}]`);
    }
  }
  return found;
}

describe('LabelingComments', () => {
  it('renders markdown: emphasis, code, lists, quotes and web links that open in a new tab', () => {
    const wrapper = mountWith(['**bold** and *soft* with `code`\n\n- one\n- two\n\n> quoted\n\nsee [the docs](https://example.com/docs) or https://example.org']);
    const body = wrapper.get('[data-testid="comment-body"]');
    expect(body.find('strong').text()).toBe('bold');
    expect(body.find('em').text()).toBe('soft');
    expect(body.find('code').text()).toBe('code');
    expect(body.findAll('li').map((li) => li.text())).toEqual(['one', 'two']);
    expect(body.find('blockquote').text()).toBe('quoted');
    const links = body.findAll('a');
    expect(links.map((a) => a.attributes('href'))).toEqual(['https://example.com/docs', 'https://example.org']);
    for (const a of links) {
      expect(a.attributes('target')).toBe('_blank');
      expect(a.attributes('rel')).toContain('noopener');
    }
  });

  it('neutralizes script tags, event handlers and javascript: links, keeping the text readable', () => {
    const attacks = [
      '<script>window.pwned = 1</script>',
      '<img src=x onerror="window.pwned = 1">',
      '<a href="javascript:window.pwned=1">raw html link</a>',
      '[markdown link](javascript:window.pwned=1)',
      '[upper case](JAVASCRIPT:window.pwned=1)',
      '[entity](java&#x73;cript:window.pwned=1)',
      '[spaced]( javascript:window.pwned=1)',
      '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
      '[vb](vbscript:msgbox(1))',
      '![image](https://tracker.example/pixel.png)',
      '<svg onload="window.pwned=1"><circle /></svg>',
      '<iframe src="https://evil.example"></iframe>',
      '<style>body { display: none }</style>',
      '<div onclick="window.pwned=1">click</div>',
    ];
    const wrapper = mountWith(attacks);
    const list = wrapper.get('[data-testid="comments"]').element;
    expect(scriptingIn(list)).toEqual([]);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
    const bodies = wrapper.findAll('[data-testid="comment-body"]');
    expect(bodies).toHaveLength(attacks.length);
    // raw HTML is shown as text, not dropped silently
    expect(bodies[0]!.text()).toContain('<script>window.pwned = 1</script>');
    expect(bodies[1]!.text()).toContain('onerror');
    // a refused link keeps its text
    expect(bodies[3]!.text()).toContain('markdown link');
  });

  it('renderMarkdown keeps only web and mail links even when markdown-it lets a scheme through', () => {
    expect(renderMarkdown('[mail](mailto:a@example.com)')).toContain('href="mailto:a@example.com"');
    expect(renderMarkdown('[ftp](ftp://example.com/x)')).not.toContain('href=');
    expect(renderMarkdown('[tel](tel:+123)')).not.toContain('href=');
  });
});
