"""The docs site: built offline from the current notebooks (tools/build_docs.py), then checked as a reader's
browser would load it: a page per notebook, nothing fetched from the internet, every equation typeset by KaTeX,
every image and internal link present, navigation reaching every page. One build (~10-30 s), shared by the tests."""
import base64, json, os, re, subprocess, sys, posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
import pytest
from emm_nb.runner import EXPERIMENTS

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
EXTERNAL = re.compile(r'^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)')   # a scheme (https:, data:, mailto:) or protocol-relative
MAX_PAGE, MAX_SITE = 3e6, 30e6                            # bytes: saved outputs stay small (PNG figures, no dumps)


class Page(HTMLParser):
    "What the checks need from one HTML page: its tags and attributes, ids, and text outside code and maths."
    SKIP = {'code', 'pre', 'script', 'style', 'math', 'annotation', 'title'}
    VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.ids, self.text, self.scripts, self.styles, self.stack = [], set(), [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or '') for k, v in attrs}
        self.tags.append((tag, a))
        if a.get('id'): self.ids.add(a['id'])
        if a.get('name') and tag == 'a': self.ids.add(a['name'])
        if tag not in self.VOID: self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag: pass

    def handle_data(self, data):
        top = self.stack[-1] if self.stack else ''
        if top == 'script': self.scripts.append(data)
        elif top == 'style': self.styles.append(data)
        if not (set(self.stack) & self.SKIP): self.text.append(data)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build the site once into a temp folder, with quarto, sudo and pip on PATH as traps that must never run."
    tmp = tmp_path_factory.mktemp('docs')
    trap, called = tmp/'trap', tmp/'called'
    trap.mkdir()
    for name in ('quarto', 'sudo', 'pip', 'pip3'):
        (trap/name).write_text(f'#!/bin/sh\necho {name} "$@" >> {called}\nexit 1\n')
        (trap/name).chmod(0o755)
    env = {**os.environ, 'PATH': f"{trap}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = tmp/'_docs'
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out), '--json'],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, f"docs build failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    assert not called.exists(), f"the build called {called.read_text()}"
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"\ndocs: {summary['pages']} pages, {summary['equations']} equations, {summary['bytes']/1e6:.2f} MB, {summary['seconds']} s")
    pages = {p.relative_to(out).as_posix(): Page(p.read_text(encoding='utf-8')) for p in sorted(out.rglob('*.html'))}
    return out, pages, summary


def notebooks():
    "The notebooks nbdev renders: under nbs/, not in `_` or `.` folders, not `_*.ipynb`."
    return [p for p in sorted(NBS.rglob('*.ipynb')) if not any(s[0] in '_.' for s in p.relative_to(NBS).parts)]


def expected_page(nb:Path) -> str:
    "The page a notebook becomes: nbdev's name (number prefix dropped, `00_data.ipynb` -> `data.html`)."
    r = nb.relative_to(NBS)
    return (r.parent/re.sub(r'^\d+[a-zA-Z0-9]*_', '', r.name.lower())).with_suffix('.html').as_posix()


def resolve(page:str, href:str) -> tuple[str, str]:
    "A relative link on `page` as (site path, anchor)."
    u = urlsplit(href)
    path = unquote(u.path)
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
    if path.endswith('/') or target == '.': target = posixpath.join(target, 'index.html').lstrip('./')
    return target, u.fragment


def test_clean_build(site):
    "The build reports no warnings: no ignored config keys, no broken links, no TeX that KaTeX rejects."
    _, _, s = site
    assert not s['warnings'], '\n'.join(s['warnings'])


def test_every_notebook_has_a_page(site):
    out, pages, _ = site
    nbs = notebooks()
    assert nbs, "no notebooks found"
    missing = [f"{nb.relative_to(NBS)} -> {expected_page(nb)}" for nb in nbs if expected_page(nb) not in pages]
    assert not missing, f"notebooks without a page: {missing}"
    for nb in nbs:
        p = pages[expected_page(nb)]
        assert any(t == 'main' for t, _ in p.tags), f"{expected_page(nb)} has no main content"
        # each page opens with prose: the `> subtitle` under the notebook's `# Title` becomes its description
        assert any(t == 'meta' and a.get('name') == 'description' and a.get('content', '').strip() for t, a in p.tags), \
            f"{nb.relative_to(NBS)}: no `> description` line under the title"


def test_navigation_reaches_every_page(site):
    "The home page's navbar and sidebar link to every notebook's page (a notebook outside the sections is lost)."
    _, pages, _ = site
    home = pages['index.html']
    linked = {resolve('index.html', a['href'])[0] for t, a in home.tags if t == 'a' and a.get('href') and not EXTERNAL.match(a['href'])}
    assert any(t == 'nav' for t, _ in home.tags) and any(a.get('id') == 'quarto-sidebar' for _, a in home.tags), "no navbar/sidebar"
    lost = [expected_page(nb) for nb in notebooks() if expected_page(nb) not in linked]
    assert not lost, f"pages not in the sidebar or navbar (put the notebook under a folder _quarto.yml lists): {lost}"


def test_nothing_loaded_from_the_internet(site):
    "No script, stylesheet, font, image or frame from outside the site; plain <a href> links out are fine."
    out, pages, _ = site
    bad = []
    for name, p in pages.items():
        for tag, a in p.tags:
            for attr in ('src', 'srcset', 'poster', 'data') + (('href',) if tag in ('link', 'use', 'image') else ()):
                v = a.get(attr, '')
                if tag == 'link' and a.get('rel') in ('canonical', 'alternate'): continue
                if v and EXTERNAL.match(v.strip()) and not v.strip().startswith('data:'): bad.append(f"{name}: <{tag} {attr}={v[:80]}>")
            if 'url(' in a.get('style', '') and re.search(r'url\(\s*["\']?(?:https?:)?//', a['style']): bad.append(f"{name}: style url")
        for s in p.scripts:
            if re.search(r'''(?:import\b[^'"]*|from\s*|src\s*=\s*|fetch\(\s*|import\(\s*)["'](?:https?:)?//''', s): bad.append(f"{name}: inline script loads {s[:80]}")
        for s in p.styles:
            if re.search(r'(?:url\(|@import)\s*["\']?(?:https?:)?//', s): bad.append(f"{name}: inline style loads from outside")
        if re.search(r'cdn\.jsdelivr|unpkg\.com|cdnjs|googleapis|mathjax', ''.join(f'{a}' for _, a in p.tags)): bad.append(f"{name}: names a CDN")
    for css in out.rglob('*.css'):
        t = css.read_text(encoding='utf-8', errors='replace')
        for u in re.findall(r'(?:url\(|@import\s+)\s*["\']?([^"\')\s;]+)', t):
            if u.startswith('data:'): continue
            if EXTERNAL.match(u): bad.append(f"{css.relative_to(out)}: loads {u[:80]}")
            elif not (css.parent/unquote(u.split('?')[0].split('#')[0])).exists(): bad.append(f"{css.relative_to(out)}: missing {u}")
    assert not bad, '\n'.join(bad[:30])


def test_local_assets_exist(site):
    "Every local script, stylesheet and image a page loads is in the site; embedded images decode."
    out, pages, _ = site
    bad = []
    for name, p in pages.items():
        for tag, a in p.tags:
            for attr in ('src',) + (('href',) if tag == 'link' else ()):
                v = a.get(attr, '').strip()
                if not v or (EXTERNAL.match(v) and not v.startswith('data:')): continue
                if v.startswith('data:'):
                    m = re.match(r'data:[\w/+.-]+;base64,(.*)$', v, re.S)
                    if tag == 'img' and not (m and len(base64.b64decode(m.group(1))) > 0): bad.append(f"{name}: bad data: image")
                    continue
                target, _ = resolve(name, v)
                if not (out/target).is_file(): bad.append(f"{name}: <{tag} {attr}={v}> missing")
    assert not bad, '\n'.join(bad[:30])
    assert any(t == 'img' for p in pages.values() for t, _ in p.tags), "no figure anywhere on the site"


def test_equations_are_katex(site):
    "Every `$..$`/`$$..$$` became KaTeX HTML at build time: no raw TeX left in the text, no KaTeX error."
    out, pages, s = site
    sources = ''.join(''.join(c['source']) for nb in notebooks() for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
    if '$' in sources: assert s['equations'] > 0, "notebooks hold maths but no equation was rendered"
    bad = []
    for name, p in pages.items():
        html = (out/name).read_text(encoding='utf-8')
        spans = re.findall(r'<span class="math (?:inline|display)">(.{0,40})', html)
        bad += [f"{name}: math span not typeset: {x}" for x in spans if not x.startswith('<span class="katex')]
        if 'katex-error' in html: bad.append(f"{name}: KaTeX error: {re.search(r'katex-error[^>]*title=.([^>]{0,120})', html).group(1)}")
        text = ''.join(p.text)
        for m in re.finditer(r'\$\$|\\\(|\\\[|(?<![\\\w$])\$(?=\S)[^$\n]{1,200}(?<=[^\s\\])\$(?!\d)', text):
            bad.append(f"{name}: raw TeX in the text: {text[max(0, m.start()-30):m.end()+30]!r}")
        if 'class="katex' in html:
            css = [a['href'] for t, a in p.tags if t == 'link' and 'katex' in a.get('href', '')]
            if not css or not (out/resolve(name, css[0])[0]).is_file(): bad.append(f"{name}: typeset maths but no local KaTeX stylesheet")
        if any('katex' in a.get('src', '') for t, a in p.tags if t == 'script'): bad.append(f"{name}: loads KaTeX JavaScript (not needed)")
        for hid, inner in re.findall(r'<h[1-6][^>]*data-anchor-id="([^"]+)"[^>]*>(.*?)</h[1-6]>', html, re.S):
            toc = re.search(r'<a href="#' + re.escape(hid) + r'" id="toc-[^>]*>(.*?)</a>', html, re.S)
            if 'class="math' in inner and toc and 'class="katex' not in toc.group(1): bad.append(f"{name}: table of contents shows TeX for #{hid}")
    assert not bad, '\n'.join(bad[:30])


def internal_links(pages):
    "Every (page, href, target, anchor) of an <a> link inside the site."
    for name, p in pages.items():
        for tag, a in p.tags:
            href = a.get('href', '')
            if tag == 'a' and href and not EXTERNAL.match(href): yield (name, href, *resolve(name, href))


def test_internal_links_resolve(site):
    "Every link inside the site reaches a file of the site."
    out, pages, _ = site
    bad = [f"{name}: {href} -> {target} missing" for name, href, target, _ in internal_links(pages) if not (out/target).exists()]
    assert not bad, '\n'.join(bad[:30])


def test_anchors_exist(site):
    """Every #anchor names an id on its page. nbdev links a backticked name to its show_doc entry: a name with no
    show_doc on its page (a method, a private helper) gives a dead anchor: add `show_doc(Class.method)` or drop the backticks."""
    out, pages, _ = site
    bad = [f"{name}: {href}: no id {anchor!r} on {target}" for name, href, target, anchor in internal_links(pages)
           if anchor and target in pages and anchor not in pages[target].ids]
    assert not bad, '\n'.join(bad[:30])


def test_site_is_small(site):
    out, pages, s = site
    big = [f"{n} {(out/n).stat().st_size/1e6:.1f} MB" for n in pages if (out/n).stat().st_size > MAX_PAGE]
    assert not big, f"pages over {MAX_PAGE/1e6:.0f} MB (saved outputs too large: use small PNG figures): {big}"
    assert s['bytes'] < MAX_SITE, f"site is {s['bytes']/1e6:.1f} MB"


# ---------------------------------------------------------------- nothing of the build machine in a page

COLUMNS = 76   # characters of a code or output line the content column shows without clipping
ABS_PATH = re.compile(r'(?<![\w.~/-])/(?:work|tmp|root|home|Users|private|var/folders|mnt|scratch|opt|srv)/')
OUTPUT_DIV = re.compile(r'<div class="cell-output cell-output-(\w+)')
PRE = re.compile(r'<pre\b([^>]*)>(.*?)</pre>', re.S)


def visible_text(html_text:str) -> str:
    "A page's text as a reader sees it (tags dropped, entities decoded), without scripts and styles."
    import html as H
    body = re.sub(r'<(script|style)\b.*?</\1>', '', html_text, flags=re.S)
    return H.unescape(re.sub(r'<[^>]+>', '', body))


def build_machine_problems(html_text:str) -> list[str]:
    """What a page shows of the machine that built it: absolute paths (a checkout, a temporary folder, a home), stderr
    output blocks (warnings, download attempts), and lines of unwrapped text (outputs, plain code blocks) longer than
    the column, which the page clips. Code cells and show_doc signatures wrap (`pre.sourceCode`, styles.css)."""
    import html as H
    bad = []
    text = visible_text(html_text)
    for m in ABS_PATH.finditer(text):
        bad.append(f"absolute path: ...{' '.join(text[max(0, m.start() - 40):m.end() + 40].split())}...")
    for kind in OUTPUT_DIV.findall(html_text):
        if kind == 'stderr': bad.append("a stderr output block (a warning or a log line: silence it, or print what the reader needs)")
    for attrs, inner in PRE.findall(html_text):
        if 'sourceCode' in attrs: continue
        for line in H.unescape(re.sub(r'<[^>]+>', '', inner)).splitlines():
            if len(line) > COLUMNS: bad.append(f"output line of {len(line)} characters (over {COLUMNS}, clipped): {line[:60]}...")
    return bad


@pytest.mark.parametrize('nb', notebooks(), ids=lambda nb: expected_page(nb))
def test_nothing_of_the_build_machine(site, nb):
    "Every page: no absolute path, no stderr block, no clipped output line (fix the notebook cell that prints it)."
    out, pages, _ = site
    name = expected_page(nb)
    if name not in pages: pytest.skip(f"{name} not built (test_every_notebook_has_a_page says why)")
    bad = build_machine_problems((out/name).read_text(encoding='utf-8'))
    assert not bad, f"{name} (from nbs/{nb.relative_to(NBS)}):\n" + '\n'.join(bad[:20]) + (f"\n... {len(bad) - 20} more" if len(bad) > 20 else '')


def test_build_machine_check_catches():
    "The check above finds what it looks for (no site build needed)."
    page = ('<p>default <code>/work/main/nbs</code></p><div class="cell-output cell-output-stderr"><pre><code>w</code></pre></div>'
            '<div class="cell-output cell-output-stdout"><pre><code>' + 'x' * 77 + '</code></pre></div>'
            '<pre class="sourceCode python"><code>' + 'y' * 120 + '</code></pre><p>https://example.org/home/page, ~/tmp/x</p>')
    bad = build_machine_problems(page)
    assert len(bad) == 3 and bad[0].startswith('absolute path') and 'stderr' in bad[1] and '77 characters' in bad[2], bad
    assert build_machine_problems('<p>folder:/tmp/x</p>')[0].startswith('absolute path')
    assert not build_machine_problems('<div class="cell-output cell-output-stdout"><pre><code>' + 'x' * 76 + '</code></pre></div>')


# ---------------------------------------------------------------- navigation in the paper's order

def test_experiments_in_the_papers_order(site):
    """The navbar's Experiments opens the experiments index and Results the summary; the index and the sidebar list
    every experiment once, in `emm_nb.runner.EXPERIMENTS`' order (the paper's, then the two beyond it)."""
    _, pages, _ = site
    want = [f"experiments/{f}/{f}.html" for f in EXPERIMENTS]
    home = pages['index.html']
    nav = {a.get('href') for t, a in home.tags if t == 'a'}
    assert 'experiments/index.html' in nav and 'results/summary.html' in nav, "navbar: Experiments and Results pages"
    assert 'experiments/index.html' in pages, "no experiments index page"
    text = (site[0]/'experiments'/'index.html').read_text(encoding='utf-8')
    body = text[text.index('<main'):text.index('</main>')]              # the page's content, not its sidebar
    links = [resolve('experiments/index.html', h)[0] for h in re.findall(r'<a href="([^"#]+)', body)]
    listed = list(dict.fromkeys(h for h in links if h in want))
    assert listed == want, f"experiments index lists {listed}\nwant {want}"
    html = (site[0]/'index.html').read_text(encoding='utf-8')
    side = html[html.index('id="quarto-sidebar"'):]
    order = sorted(want, key=lambda p: side.find(f'href="{p}"'))
    assert all(f'href="{p}"' in side for p in want) and order == want, f"sidebar order: {order}"


FIRST_SCREEN = 1100   # characters of text above the figure: ~75 per line of the 640 px column, the finding ~360 px down an 800 px screen

def first_screen_text(html_text:str) -> str|None:
    "The text of a page's content between its title block and its first figure (None: no figure)."
    import html as H
    main = html_text[html_text.index('<main'):]
    if '<img' not in main: return None
    above = re.sub(r'<header.*?</header>', '', main[:main.index('<img')], flags=re.S)
    return re.sub(r'\s+', ' ', H.unescape(re.sub(r'<[^>]+>', ' ', above))).strip()

@pytest.mark.parametrize('factor', list(EXPERIMENTS))
def test_experiment_page_opens_with_its_finding_and_figure(site, factor):
    """Every experiment page shows its finding and its figure on the first screen at 1280 px (checked in headless
    Chromium): the finding comes first, and the text above the figure stays within FIRST_SCREEN characters."""
    name = f"experiments/{factor}/{factor}.html"
    text = first_screen_text((site[0]/name).read_text(encoding='utf-8'))
    assert text is not None, f"{name}: no figure"
    assert text.startswith('Finding.'), f"{name} opens with {text[:80]!r}, not its finding"
    assert len(text) <= FIRST_SCREEN, f"{name}: {len(text)} characters above the figure (at most {FIRST_SCREEN}): {text[:200]}..."


# ---------------------------------------------------------------- what the renderer adds for narrow pages

def test_renderer_page_fixes():
    "build_docs.py's page fixes (no site build): signature links, aligned text outputs, wide figures, no break inside '98.4 %'."
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import signature_links, sig_anchors, mark_aligned, keep_together, mark_wide_figures
    sig = '<span class="co"># default [`data_root()`](https://emm-nb.github.io/emm_nb/data.html#data_root)</span>'
    assert signature_links(sig) == ('<span class="co"># default <a class="sig-link" '
                                    'href="https://emm-nb.github.io/emm_nb/data.html#data_root">data_root()</a></span>')
    two = sig_anchors({Path('/s/a.html'): '<a class="sig-link" href="b.html#f">f</a><a class="sig-link" href="b.html#B.m">B.m</a>',
                       Path('/s/b.html'): '<h3 id="f">f</h3>'})    # a method without show_doc: the link goes to its page
    assert two[Path('/s/a.html')] == '<a class="sig-link" href="b.html#f">f</a><a class="sig-link" href="b.html">B.m</a>'
    out = '<div class="cell-output cell-output-stdout">\n<pre><code>{}</code></pre>\n</div>'
    assert '<pre class="aligned">' in mark_aligned(out.format('n    ratio\n50   0.99\n100  0.93'))   # columns: scroll
    assert '<pre>' in mark_aligned(out.format('EMM = 137 (between N = 100 and 200), 95 % interval [123, 154]'))   # prose: wraps
    import base64, struct, zlib
    def figure(w, h):   # a real (blank) PNG of w x h pixels, as a notebook's output embeds it
        chunk = lambda kind, data: struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
        png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
               + chunk(b'IDAT', zlib.compress(b'\x00' * (w + 1) * h)) + chunk(b'IEND', b''))
        return '<div class="cell-output cell-output-display">\n<img src="data:image/png;base64,' + base64.b64encode(png).decode() + '" class="img-fluid">'
    two = mark_wide_figures(figure(800, 200))   # 800 px, two panels side by side: 0.7 of it on a phone, scrolling in its box
    assert 'class="cell-output cell-output-display wide-figure" style="--fig-w: 560px"' in two and two.endswith('class="img-fluid">')
    assert mark_wide_figures(figure(500, 200)) == figure(500, 200)                     # 500 px: legible in a phone's column
    assert '--fig-w: 1000px' in mark_wide_figures(figure(1600, 150))                 # a strip of samples: at most 1,000 px
    page = '<p>at 98.4 % and N = 50</p><pre><code>x = 5 %</code></pre><script>if (a < b) s = "5 %"</script><td>9 %</td>'
    assert keep_together(page) == ('<p>at 98.4&nbsp;% and N&nbsp;=&nbsp;50</p><pre><code>x = 5 %</code></pre>'
                                   '<script>if (a < b) s = "5 %"</script><td>9&nbsp;%</td>')


def test_no_markdown_left_in_signatures(site):
    "A backticked name in a parameter's comment shows as a link in the signature, not as `[`name`](url)` text."
    out, pages, _ = site
    raw = re.compile(r'\[`[^`]+`\]\((?:https?://|\.)[^)\s]*\)')
    bad = {n: raw.findall((out/n).read_text(encoding='utf-8'))[:2] for n in pages}
    bad = {n: v for n, v in bad.items() if v}
    assert not bad, f"raw markdown links on {len(bad)} pages: {bad}"


def test_stale_processed_copies_are_redone(tmp_path):
    """A notebook saved while another build ran looks older than nbdev's cache folder, which nbdev alone would keep
    serving: the build compares content hashes instead and drops the stale processed copy (no site build needed)."""
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import source_hashes, drop_stale, SOURCES
    nbs, proc = tmp_path/'nbs', tmp_path/'_proc'
    for d in (nbs/'experiments', proc/'experiments'): d.mkdir(parents=True)
    (nbs/'a.ipynb').write_text('{"v": 1}'); (nbs/'experiments'/'b.ipynb').write_text('{"v": 1}')
    (proc/'a.ipynb').write_text('processed a'); (proc/'experiments'/'b.ipynb').write_text('processed b')
    (proc/SOURCES).write_text(json.dumps(source_hashes(nbs)))
    (nbs/'experiments'/'b.ipynb').write_text('{"v": 2}')      # saved again: new outputs
    os.utime(proc, None)                                     # the cache folder touched after it (a build ending)
    assert drop_stale(nbs, proc, source_hashes(nbs)) == ['experiments/b.ipynb']
    assert (proc/'a.ipynb').exists() and not (proc/'experiments'/'b.ipynb').exists()
