/**
 * XSS payloads for the display tests. Each one, if it ever ran, would set `window.__xss` (or the
 * parent's) and most would also open a dialog. Sources: the OWASP XSS filter evasion cheat sheet,
 * published DOMPurify bypasses (mutation XSS through SVG/MathML namespace confusion), and the
 * classic raw-text element breakouts (noscript, xmp, noembed, noframes).
 * @see https://cheatsheetseries.owasp.org/cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.html
 * @see https://research.securitum.com/mutation-xss-via-mathml-mutation-dompurify-2-0-17-bypass/
 */
export const XSS_PAYLOADS: readonly string[] = [
  // Scripts and event handlers.
  '<script>window.__xss=1;alert(1)</script>',
  '<img src=x onerror="window.__xss=1;alert(1)">',
  '<svg onload="window.__xss=1;alert(1)">',
  '<body onload="window.__xss=1">',
  '<details open ontoggle="window.__xss=1;alert(1)">x</details>',
  '<input autofocus onfocus="window.__xss=1">',
  '<video><source onerror="window.__xss=1"></video>',
  '<svg><animate onbegin="window.__xss=1" attributeName="x" dur="1s"/></svg>',
  '<a href="https://example.com" onclick="window.__xss=1">a fine link</a>',
  '<img src=x onerror=\u0077indow.__xss=1>',
  '<scr<script>ipt>window.__xss=1</scr</script>ipt>',
  '"><img src=x onerror=window.__xss=1>',
  '</pre><img src=x onerror=window.__xss=1>',
  '</textarea><img src=x onerror=window.__xss=1>',
  '<!--<img src="--><img src=x onerror=window.__xss=1//">',
  '<template><img src=x onerror=window.__xss=1></template>',
  // Mutation XSS through SVG and MathML namespace confusion.
  '<svg></p><style><a id="</style><img src=1 onerror=window.__xss=1>">',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=1">',
  '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror=window.__xss=1&gt;">',
  '<form><math><mtext></form><form><mglyph><style></math><img src onerror=window.__xss=1>',
  '<svg><style><img src=x onerror=window.__xss=1></style></svg>',
  '<math><mi><svg><foreignObject><img src=x onerror=window.__xss=1></foreignObject></svg></mi></math>',
  '<svg><foreignObject><iframe srcdoc="&lt;script&gt;parent.__xss=1&lt;/script&gt;"></iframe></foreignObject></svg>',
  // Closing tags hidden in attributes inside raw-text elements.
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
  '<xmp><p title="</xmp><img src=x onerror=window.__xss=1>">',
  '<noembed><p title="</noembed><img src=x onerror=window.__xss=1>">',
  '<noframes><p title="</noframes><img src=x onerror=window.__xss=1>">',
  // javascript: URLs, plain and disguised.
  '<a href="javascript:window.__xss=1">click</a>',
  '<a href="JaVaScRiPt:window.__xss=1">click</a>',
  '<a href="&#106;avascript:window.__xss=1">click</a>',
  '<a href="java&#x09;script:window.__xss=1">click</a>',
  '<svg><a xlink:href="javascript:window.__xss=1"><text x="20" y="20">click</text></a></svg>',
  '<math href="javascript:window.__xss=1">click</math>',
  '<form action="javascript:window.__xss=1"><button>click</button></form>',
  '<object data="javascript:window.__xss=1"></object>',
  '<embed src="javascript:window.__xss=1">',
  '[click](javascript:window.__xss=1)',
  '[click](javascript&#58;window.__xss=1)',
  '**<img src=x onerror=window.__xss=1>** and `<script>window.__xss=1</script>`',
  'javascript:window.__xss=1',
  // srcdoc, meta http-equiv, base and style tricks.
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '<iframe src="javascript:parent.__xss=1"></iframe>',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
  `<meta http-equiv="Content-Security-Policy" content="script-src 'unsafe-inline'"><script>window.__xss=1</script>`,
  '<base href="javascript:/"><a href="/x">relative</a>',
  '<div style="background:url(javascript:window.__xss=1)">styled</div>',
  "<style>@import 'javascript:window.__xss=1';</style>",
  '<link rel=stylesheet href="javascript:window.__xss=1">',
];
