/** The Markdown subset renders only its own tags; raw HTML in a message stays text. */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../web/src/markdown-lite.js';

describe('renderMarkdown', () => {
  it('renders headings, emphasis, code, lists, quotes and fenced code', () => {
    const html = renderMarkdown(
      '# Title\n\n**bold** *em* ~~gone~~ `x < y`\n\n- one\n- two\n\n1. first\n\n> quoted\n\n```\n<raw>\n```',
    );
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain(
      '<strong>bold</strong> <em>em</em> <del>gone</del> <code>x &lt; y</code>',
    );
    expect(html).toContain('<ul><li>one</li><li>two</li></ul>');
    expect(html).toContain('<ol><li>first</li></ol>');
    expect(html).toContain('<blockquote><p>quoted</p></blockquote>');
    expect(html).toContain('<pre><code>&lt;raw&gt;</code></pre>');
  });

  it('links only http, https and mailto targets', () => {
    expect(renderMarkdown('[ok](https://example.com/a?b=1)')).toBe(
      '<p><a href="https://example.com/a?b=1">ok</a></p>',
    );
    expect(renderMarkdown('[bad](javascript:alert(1))')).not.toContain('<a');
    expect(renderMarkdown('[bad](data:text/html,x)')).not.toContain('<a');
  });

  it('escapes raw HTML, quotes included, so it cannot open a tag or leave an attribute', () => {
    const html = renderMarkdown(
      '<img src=x onerror="alert(1)"> [x](https://a.example/"onmouseover=alert(1))',
    );
    expect(html).not.toMatch(/<img|"onmouseover|<script/);
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
  });
});
