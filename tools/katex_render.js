// Render TeX to KaTeX HTML for tools/build_docs.py (server-side, so the site needs no JavaScript for maths).
// stdin:  JSON [{"page": "data.html", "math": [[tex, displayMode], ...]}, ...]
// stdout: JSON [[{"html": "...", "error": null | "message"}, ...], ...]   (one list per page, same order)
// A page's equations share one macro table, so a \gdef in one equation serves the later ones, as on a page.
'use strict';
const katex = require('katex');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(({ math }) => {
    const macros = {};
    return math.map(([tex, display]) => {
      const opts = { displayMode: display, macros, output: 'htmlAndMathml', strict: 'ignore' };
      try {
        return { html: katex.renderToString(tex, { ...opts, throwOnError: true }), error: null };
      } catch (e) {  // still render it (KaTeX marks the bad part in red), and report the error
        return { html: katex.renderToString(tex, { ...opts, throwOnError: false }), error: String(e.message || e) };
      }
    });
  });
  process.stdout.write(JSON.stringify(out));
});
