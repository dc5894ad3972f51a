/**
 * A deliberately small Markdown subset for the optional "formatted" view: headings, paragraphs,
 * lists, quotes, fenced code, `code`, **strong**, *em*, ~~del~~ and [links](https://...).
 * All input is HTML-escaped first, so raw HTML in a message is shown as text; the result is
 * still only ever inserted through the DOMPurify policy in trusted-html.ts.
 */

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function inline(escaped: string): string {
  return escaped
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*]+)\*/g, '<em>$1</em>')
    .replace(/~~([^~]+)~~/g, '<del>$1</del>')
    .replace(/\[([^\]]+)\]\(((?:https?:\/\/|mailto:)[^\s)"]+)\)/g, '<a href="$2">$1</a>');
}

type Block = { kind: 'p' | 'ul' | 'ol' | 'quote'; lines: string[] };

export function renderMarkdown(source: string): string {
  const out: string[] = [];
  let block: Block | null = null;
  let fence: string[] | null = null;

  const flush = (): void => {
    if (!block) {
      return;
    }
    const { kind, lines } = block;
    if (kind === 'ul' || kind === 'ol') {
      out.push(`<${kind}>${lines.map((line) => `<li>${inline(line)}</li>`).join('')}</${kind}>`);
    } else if (kind === 'quote') {
      out.push(`<blockquote><p>${lines.map(inline).join('<br>')}</p></blockquote>`);
    } else {
      out.push(`<p>${lines.map(inline).join('<br>')}</p>`);
    }
    block = null;
  };
  const add = (kind: Block['kind'], line: string): void => {
    if (block?.kind !== kind) {
      flush();
      block = { kind, lines: [] };
    }
    block.lines.push(line);
  };

  for (const raw of source.replace(/\r\n?/g, '\n').split('\n')) {
    if (fence) {
      if (/^```/.test(raw)) {
        out.push(`<pre><code>${fence.join('\n')}</code></pre>`);
        fence = null;
      } else {
        fence.push(escapeHtml(raw));
      }
      continue;
    }
    const line = escapeHtml(raw);
    let match: RegExpExecArray | null;
    if (/^```/.test(raw)) {
      flush();
      fence = [];
    } else if ((match = /^(#{1,4})\s+(.*)$/.exec(line)) && match[1] && match[2] !== undefined) {
      flush();
      const level = match[1].length;
      out.push(`<h${level}>${inline(match[2])}</h${level}>`);
    } else if (/^\s*$/.test(line)) {
      flush();
    } else if (/^(?:-{3,}|\*{3,})\s*$/.test(line)) {
      flush();
      out.push('<hr>');
    } else if ((match = /^\s*[-*+]\s+(.*)$/.exec(line)) && match[1] !== undefined) {
      add('ul', match[1]);
    } else if ((match = /^\s*\d+[.)]\s+(.*)$/.exec(line)) && match[1] !== undefined) {
      add('ol', match[1]);
    } else if ((match = /^&gt;\s?(.*)$/.exec(line)) && match[1] !== undefined) {
      add('quote', match[1]);
    } else {
      add('p', line);
    }
  }
  if (fence) {
    out.push(`<pre><code>${fence.join('\n')}</code></pre>`);
  }
  flush();
  return out.join('\n');
}
