"""Build the docs site offline into `_docs/`, without Quarto: `python tools/build_docs.py [--out DIR]`.

Three steps, each pinned (settings.ini pins nbdev and smalldocs, tools/package.json pins KaTeX):

1. **nbdev's notebook processing** into `_proc/`: what `nbdev_docs` does before it calls Quarto (nbdev 2.4.14's
   `nbdev.quarto._pre_docs`), minus installing Quarto and writing `nbs/sidebar.yml` (the sidebar is in
   `_quarto.yml`). It adds and runs the `show_doc` cells, hides `#| hide` cells and turns backticked names into
   links.
2. **smalldocs** renders `_proc/` as a Quarto website from `_quarto.yml` (the repository root's, which
   `nbs/_quarto.yml` links to), with two changes: pages are named as Quarto and nbdev's links name them
   (`00_data.ipynb` -> `data.html`), and navbar and sidebar entries that match no notebook yet are left out.
3. **KaTeX**, run by `node` on every equation, turns the maths into HTML at build time; the site serves KaTeX's
   CSS and fonts itself, and the CDN links smalldocs writes are removed. Links to the site's own published URL
   become relative links.

Never calls Quarto, sudo or pip. Needs `node` and KaTeX: `npm ci --prefix tools` installs it (git-ignored).
"""
from __future__ import annotations
import argparse, base64, html, json, os, posixpath, re, shutil, struct, subprocess, sys, time
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
KATEX = ROOT/'tools'/'node_modules'/'katex'
PINS = {'nbdev': '2.4.14', 'smalldocs': '0.5.4'}  # the versions this script is written against (settings.ini)
PAGE_EXTS = ('.ipynb', '.qmd', '.md')


class DocsError(RuntimeError):
    "A site that cannot be built, with the reason and the fix."


def check_tools():
    "Fail early, with the fix, when a pinned tool is missing or has another version."
    import nbdev, smalldocs
    for mod in (nbdev, smalldocs):
        want = PINS[mod.__name__]
        if mod.__version__ != want:
            raise DocsError(f"{mod.__name__} {mod.__version__} found; this build uses private parts of {mod.__name__} {want}: "
                            f'pip install "{mod.__name__}=={want}" (settings.ini pins it)')
    if not shutil.which('node'): raise DocsError("node not found: the build renders equations with KaTeX under node")
    if not (KATEX/'dist'/'katex.min.css').exists():
        raise DocsError(f"KaTeX not installed in {KATEX.parent}: run `npm ci --prefix tools`")


# ---------------------------------------------------------------- step 1: nbdev's notebook processing

IMPORT_HINT = ("nbdev's docs step runs the export cells, the show_doc cells and every cell holding an import, "
               "without the notebook's other cells: a cell that imports and also uses notebook variables fails there. "
               "Keep imports in cells of their own. Cells that mix them:\n")

def mixed_import_cells(nbs:Path) -> list[str]:
    "Code cells that nbdev's docs step would run because they import, although they hold other code too."
    import ast
    out = []
    for nb in sorted(nbs.rglob('*.ipynb')):
        if any(p[0] in '_.' for p in nb.relative_to(nbs).parts): continue
        for i, c in enumerate(json.loads(nb.read_text()).get('cells', [])):
            src = ''.join(c.get('source', ''))
            if c.get('cell_type') != 'code' or re.search(r'^#\|\s*(export|exports|exporti|exec_doc)\b', src, re.M): continue
            try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
            except SyntaxError: continue
            nodes = list(ast.walk(tree))
            if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes) and any(isinstance(n, (ast.Expr, ast.Assign)) for n in nodes):
                first = next((l for l in src.splitlines() if l.strip() and not l.startswith('#|')), '')
                out.append(f"{nb.relative_to(nbs)}, cell {i}: {first[:70]}")
    return out


SOURCES = '.sources.json'   # in _proc: the hash of each source as last processed

def source_hashes(nbs:Path) -> dict[str, str]:
    "SHA-1 of every file under `nbs/` that nbdev's processing copies (not in `.` folders or `_proc`)."
    import hashlib
    return {f.relative_to(nbs).as_posix(): hashlib.sha1(f.read_bytes()).hexdigest() for f in sorted(nbs.rglob('*'))
            if f.is_file() and not any(p[0] == '.' or p in ('_proc', '_docs', '_site') for p in f.relative_to(nbs).parts)}


def drop_stale(nbs:Path, proc:Path, hashes:dict[str, str]) -> list[str]:
    """Delete the processed copies whose source changed since they were processed, so that nbdev processes them again.
    nbdev's own check compares a source's mtime with the `_proc` folder's, which every build touches when it ends: a
    notebook saved while a build runs (another session's, say) looks older than the cache and its page stays stale."""
    try: done = json.loads((proc/SOURCES).read_text())
    except (OSError, ValueError): done = {}
    stale = []
    for rel, h in hashes.items():
        d = proc/rel
        if rel.endswith('.py') and not d.exists(): d = d.with_suffix('')
        if d.exists() and done.get(rel) != h: d.unlink(); stale.append(rel)
    return stale


def process_notebooks(n_workers:int=2) -> Path:
    "Run nbdev's docs processing of `nbs/` into `_proc/` (nbdev_docs' steps before Quarto); return `_proc`."
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    refresh_quarto_yml()                 # nbs/nbdev.yml from settings.ini; keeps nbs/_quarto.yml (our symlink)
    nbdev.doclinks._build_modidx()       # the index that turns `name` into a link, as nbdev_export writes it
    proc, nbs = Path(cfg.config_path)/'_proc', Path(cfg.nbs_path)   # where proc_nbs caches
    hashes = source_hashes(nbs)                  # before processing: a file saved meanwhile is processed again next time
    if proc.exists(): drop_stale(nbs, proc, hashes)
    try: proc = proc_nbs(cfg.nbs_path, n_workers=n_workers)   # incremental: only what changed since last time
    except Exception as e:
        msg = str(e).split('\n')[0]
        why = re.findall(r'^(\w+(?:Error|Exception): .*)$', str(e.__cause__), re.M)
        mixed = '\n'.join(f"  {m}" for m in mixed_import_cells(cfg.nbs_path)) or '  (none found)'
        raise DocsError(f"nbdev's docs processing failed: {msg} {why[0] if why else ''}.\n" + IMPORT_HINT + mixed) from e
    # proc_nbs never deletes: drop what no longer has a source (a renamed or removed notebook)
    for f in sorted(proc.rglob('*'), reverse=True):
        r = f.relative_to(proc)
        if r.parts[0].startswith(('_docs', '_site')): continue
        src = cfg.nbs_path/r
        if f.is_file() and f.name != SOURCES and not (src.exists() or src.with_suffix('.py').exists()): f.unlink()
        elif f.is_dir() and not any(f.iterdir()): f.rmdir()
    (proc/SOURCES).write_text(json.dumps(hashes, indent=0))
    return proc


# ---------------------------------------------------------------- step 2: smalldocs, from _quarto.yml

def list_pages(proc:Path) -> list[PurePosixPath]:
    "The page sources in `proc`, as smalldocs finds them (no `_` or `.` folders, no README)."
    out = []
    for f in sorted(proc.rglob('*')):
        r = PurePosixPath(f.relative_to(proc).as_posix())
        if f.is_file() and f.suffix in PAGE_EXTS and not any(p[0] in '_.' for p in r.parts) and f.stem.lower() != 'readme':
            out.append(r)
    return out


def _matches(pages, pattern:str) -> list:
    "The pages a sidebar/navbar entry names: a file, a folder (all pages below) or a glob."
    from smalldocs.config import glob_match
    p = pattern.lstrip('/')
    if any(c in p for c in '*?['): return [s for s in pages if glob_match(str(s), p)]
    return [s for s in pages if str(s) == p or str(s).startswith(p.rstrip('/') + '/')]


def _first_page(pages) -> PurePosixPath:
    "The page a section opens on: its index, else the first by path."
    return sorted(pages, key=lambda s: (s.stem != 'index', str(s)))[0]


def prune_contents(items, pages, dropped:list) -> list:
    "Sidebar `contents` without the entries that match no page yet (notebooks land over time)."
    out = []
    for it in items if isinstance(items, list) else [items]:
        if isinstance(it, str):
            if it.startswith('---') or _matches(pages, it): out.append(it)
            else: dropped.append(it)
        elif isinstance(it, dict) and ('section' in it or 'contents' in it):
            kids = prune_contents(it.get('contents', []), pages, dropped)
            if kids or it.get('href'): out.append({**it, 'contents': kids})
            else: dropped.append(f"section {it.get('section')}")
        elif isinstance(it, dict) and 'auto' in it:
            pats = it['auto'] if isinstance(it['auto'], list) else [it['auto']]
            if any(_matches(pages, str(a)) for a in pats): out.append(it)
            else: dropped.append(f"auto {it['auto']}")
        elif isinstance(it, dict) and it.get('href') and not re.match(r'^[a-z]+:', str(it['href'])) and not _matches(pages, it['href']):
            dropped.append(str(it['href']))
        else: out.append(it)
    return out


def prune_navbar(items, pages, dropped:list) -> list:
    "Navbar entries whose page does not exist yet point at the first page of its folder, or are left out."
    out = []
    for it in items or []:
        href = it.get('href') if isinstance(it, dict) else None
        if not href or re.match(r'^[a-z]+:', str(href)) or _matches(pages, href): out.append(it); continue
        folder = posixpath.dirname(str(href))
        below = _matches(pages, folder) if folder else []
        if below: out.append({**it, 'href': str(_first_page(below))})
        else: dropped.append(f"navbar {it.get('text', href)}")
    return out


def site_config(proc:Path, out_dir:Path) -> tuple[dict, list]:
    "The root `_quarto.yml`, with entries for pages that do not exist yet left out, writing into `out_dir`."
    import yaml
    cfg = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    pages, dropped = list_pages(proc), []
    web = cfg.setdefault('website', {})
    nav = web.get('navbar')
    if isinstance(nav, dict):
        for side in ('left', 'right'): nav[side] = prune_navbar(nav.get(side), pages, dropped)
    bars = web.get('sidebar')
    for sb in bars if isinstance(bars, list) else [bars] if bars else []:
        sb['contents'] = prune_contents(sb.get('contents', []), pages, dropped)
    cfg.setdefault('project', {})['output-dir'] = str(out_dir)   # read after the metadata files, so it wins
    return cfg, dropped


def nbdev_name(src:PurePosixPath) -> PurePosixPath:
    "The page's output path as Quarto and nbdev's doc links name it: `00_data.ipynb` -> `data.html`."
    from nbdev.doclinks import _nbpath2html
    return PurePosixPath(_nbpath2html(Path(src)).as_posix())


def render_site(proc:Path, out_dir:Path):
    "Render `proc` with smalldocs into `out_dir`; return the smalldocs Site."
    import yaml
    from smalldocs.config import load
    from smalldocs.site import Site

    class NbdevSite(Site):
        "smalldocs' Site with nbdev's page names."
        def read(self, src):
            page = super().read(src)
            # nbdev's front matter names the output (`output-file: data.html`), as Quarto reads it
            of = page.front.get('output-file')
            page.out = src.parent/of if of else nbdev_name(src)
            self.warnings = [w for w in self.warnings if w != f"{src}: output-file is not read by smalldocs"]
            return page
        def find_page(self, target):   # also find a page by its output name, as nbdev writes links (`data.html`)
            found = super().find_page(target)
            if found is None and target.suffix == '.html':
                found = next((p for p in self.pages.values() if p.out == target), None)
            return found

    cfg, dropped = site_config(proc, out_dir)
    (proc/'_quarto.yml').unlink(missing_ok=True)      # nbdev copied the root file here; write the pruned copy
    (proc/'_quarto.yml').write_text('# generated by tools/build_docs.py from the root _quarto.yml\n' + yaml.safe_dump(cfg, sort_keys=False))
    site = NbdevSite(load(proc), quiet=True)
    outs = {}
    for src in site.discover():
        o = site.read(src).out
        if o in outs: raise DocsError(f"{outs[o]} and {src} would both become {o}: rename one")
        outs[o] = src
    site.build()
    return site, dropped


# ---------------------------------------------------------------- step 3: KaTeX, local assets, links

MATH = re.compile(r'<span class="math (inline|display)">\\[(\[](.*?)\\[)\]]</span>', re.S)
CDN_TAG = re.compile(r'\s*<(?:link|script)\b[^>]*(?:href|src)="https://cdn\.jsdelivr\.net/npm/katex@[^"]*"[^>]*>(?:</script>)?')


def render_math(pages:dict[Path, str]) -> tuple[dict[Path, str], list[str], int]:
    "Replace every `\\(..\\)` / `\\[..\\]` span smalldocs wrote with KaTeX's HTML, rendered by node."
    found = {p: MATH.findall(t) for p, t in pages.items()}
    todo = [p for p in pages if found[p]]
    if not todo: return pages, [], 0
    req = [{'page': str(p), 'math': [[html.unescape(tex), kind == 'display'] for kind, tex in found[p]]} for p in todo]
    r = subprocess.run(['node', str(ROOT/'tools'/'katex_render.js')], input=json.dumps(req), capture_output=True,
                       text=True, cwd=ROOT/'tools')
    if r.returncode: raise DocsError(f"KaTeX (node) failed: {r.stderr.strip()[-2000:]}")
    errors, res = [], dict(pages)
    for p, rendered, q in zip(todo, json.loads(r.stdout), req):
        it = iter(rendered)
        def sub(m):
            o = next(it)
            return f'<span class="math {m.group(1)}">{o["html"]}</span>'
        res[p] = MATH.sub(sub, pages[p])
        errors += [f"{p.name}: ${tex}$: {o['error']}" for (tex, _), o in zip(q['math'], rendered) if o['error']]
    return res, errors, sum(len(f) for f in found.values())


def copy_katex(out_dir:Path):
    "KaTeX's CSS and woff2 fonts into `site_libs/katex` (every current browser reads woff2; the others are dropped)."
    dest = out_dir/'site_libs'/'katex'
    (dest/'fonts').mkdir(parents=True, exist_ok=True)
    css = (KATEX/'dist'/'katex.min.css').read_text()
    css = re.sub(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)', '', css)
    (dest/'katex.min.css').write_text(css)
    for f in (KATEX/'dist'/'fonts').glob('*.woff2'): shutil.copy(f, dest/'fonts'/f.name)
    shutil.copy(KATEX/'LICENSE', dest/'LICENSE')


HEADING = re.compile(r'<h[1-6][^>]*data-anchor-id="([^"]+)"[^>]*>(.*?)</h[1-6]>', re.S)

def toc_math(text:str) -> str:
    "Table-of-contents entries of headings that hold maths show the typeset heading, not its bare TeX."
    for hid, inner in HEADING.findall(text):
        if 'class="math' not in inner: continue
        inner = re.sub(r'<a [^>]*class="anchor[^"]*"[^>]*>.*?</a>', '', inner, flags=re.S)
        text = re.sub(r'(<a href="#' + re.escape(hid) + r'" id="toc-[^"]*"[^>]*>)[^<]*(</a>)', lambda m: m.group(1) + inner + m.group(2), text)
    return text


SIG_COMMENT = re.compile(r'(<span class="co">)(.*?)(</span>)', re.S)
MD_LINK = re.compile(r'\[`([^`<>\]]+)`\]\(((?:https?://|\.{0,2}/)?[^()\s<>"]+)\)')

def signature_links(text:str) -> str:
    """A parameter's comment in a show_doc signature is code, so the markdown link nbdev makes of a backticked name in it
    (`[`data_root()`](https://.../data.html#data_root)`) would show as raw text: make it a link."""
    def co(m):
        return m.group(1) + MD_LINK.sub(lambda l: f'<a class="sig-link" href="{l.group(2)}">{l.group(1)}</a>', m.group(2)) + m.group(3)
    return SIG_COMMENT.sub(co, text)


SIG_LINK = re.compile(r'<a class="sig-link" href="([^"#]*)#([^"]+)">')

def sig_anchors(pages:dict[Path, str]) -> dict[Path, str]:
    "A signature link whose anchor names no id on its page (a method without show_doc) goes to the page instead."
    ids = {p.resolve(): set(re.findall(r'\bid="([^"]+)"', t)) for p, t in pages.items()}
    def fix(page):
        def sub(m):
            target = (page.parent/m.group(1)).resolve() if m.group(1) else page.resolve()
            return m.group(0) if m.group(2) in ids.get(target, ()) else f'<a class="sig-link" href="{m.group(1) or "#"}">'
        return sub
    return {p: SIG_LINK.sub(fix(p), t) for p, t in pages.items()}


OUTPUT_PRE = re.compile(r'(<div class="cell-output[^"]*"[^>]*>\s*)<pre>(.*?)</pre>', re.S)
COLUMNS_GAP = re.compile(r'\S {2,}\S')

def mark_aligned(text:str) -> str:
    """Text outputs wrap on a narrow page (styles.css); one printed as aligned columns (two or more lines with a run of
    spaces inside them: a table printed as text) gets the class `aligned`, which keeps its columns and scrolls instead."""
    def pre(m):
        lines = html.unescape(re.sub(r'<[^>]+>', '', m.group(2))).splitlines()
        aligned = sum(bool(COLUMNS_GAP.search(l.strip())) for l in lines) >= 2
        return m.group(1) + ('<pre class="aligned">' if aligned else '<pre>') + m.group(2) + '</pre>'
    return OUTPUT_PRE.sub(pre, text)


OUTPUT_IMG = re.compile(r'<div class="cell-output cell-output-display">(\s*<img src="data:image/png;base64,([A-Za-z0-9+/=]{32}))')

def mark_wide_figures(text:str) -> str:
    """A figure wider than a phone's column can show at a legible scale (a PNG over 520 px wide: matplotlib's 100 dpi
    puts its 10-point labels at about 14 px) gets the class `wide-figure` and a width of 0.7 of its own (at most 1,000 px):
    on a phone it keeps that width and scrolls sideways in its own box (styles.css), instead of shrinking its axis labels
    to a few pixels; on a wider screen nothing changes."""
    def div(m):
        head = base64.b64decode(m.group(2)[:32])
        w = struct.unpack('>I', head[16:20])[0] if head[12:16] == b'IHDR' else 0
        if w <= 520: return m.group(0)
        return f'<div class="cell-output cell-output-display wide-figure" style="--fig-w: {min(round(.7 * w), 1000)}px">' + m.group(1)
    return OUTPUT_IMG.sub(div, text)


TAG = re.compile(r'(<[^>]*>)')
RAW_BLOCK = re.compile(r'(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->)', re.S | re.I)
VERBATIM = ('pre', 'code', 'math', 'textarea')

def keep_together(text:str) -> str:
    """Prose and tables never break a line inside "98.4 %" or "N = 50" (a lone "%" or "50" starting a line in a
    narrow table cell): no-break spaces there, in text outside code, scripts, styles and MathML."""
    out, depth = [], 0
    for block in RAW_BLOCK.split(text):
        if RAW_BLOCK.fullmatch(block): out.append(block); continue
        for tok in TAG.split(block):
            if tok.startswith('<'):
                name = re.match(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)', tok)
                if name and name.group(2).lower() in VERBATIM and not tok.endswith('/>'):
                    depth = max(depth + (-1 if name.group(1) else 1), 0)
            elif depth == 0 and tok.strip():
                tok = re.sub(r'(\d) %', '\\1&nbsp;%', tok)
                tok = re.sub(r'\b([NKC]) = (?=[\d&])', '\\1&nbsp;=&nbsp;', tok)
            out.append(tok)
    return ''.join(out)


def fix_page(text:str, page:Path, out_dir:Path, site_url:str) -> str:
    """Local KaTeX CSS instead of the CDN (no KaTeX JavaScript: the maths is already HTML); own-site URLs made relative;
    links in signatures, aligned text outputs and wide figures marked, no line break inside a number and its unit."""
    up = posixpath.relpath('.', page.parent.relative_to(out_dir).as_posix() or '.')
    up = '' if up == '.' else up + '/'
    text = toc_math(text)
    text = keep_together(mark_wide_figures(mark_aligned(signature_links(text))))
    had = bool(CDN_TAG.search(text))
    text = CDN_TAG.sub('', text)
    if had or 'class="katex' in text:
        text = text.replace('</head>', f'<link rel="stylesheet" href="{up}site_libs/katex/katex.min.css">\n</head>', 1)
    if site_url:
        here = page.parent.relative_to(out_dir).as_posix() or '.'
        def rel(m):
            target = m.group(2).split('#')[0] or 'index.html'
            anchor = m.group(2)[len(m.group(2).split('#')[0]):]
            return f'{m.group(1)}="{posixpath.relpath(target, here)}{anchor}"'
        text = re.sub(r'(href)="' + re.escape(site_url.rstrip('/')) + r'/?([^"]*)"', rel, text)
    return text


REMOTE_IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']?(?:https?:)?//[^)"\']*["\']?\)?[^;]*;')

def fix_css(out_dir:Path):
    "Drop the stylesheets' imports from the internet (the cosmo theme imports Google Fonts; the fallback fonts are the system's)."
    for f in out_dir.rglob('*.css'):
        t = f.read_text(encoding='utf-8')
        if REMOTE_IMPORT.search(t): f.write_text(REMOTE_IMPORT.sub('', t), encoding='utf-8')


def dir_size(d:Path) -> int: return sum(f.stat().st_size for f in d.rglob('*') if f.is_file())


def build(out:Path|None=None, n_workers:int=2, strict:bool=False, quiet:bool=False) -> dict:
    "Build the site into `out` (default `_docs/`); return a summary: pages, bytes, seconds, warnings."
    t0 = time.time()
    out = Path(out).resolve() if out else None        # relative to the caller's folder, before the chdir
    os.chdir(ROOT)                                    # nbdev finds settings.ini from the working folder
    check_tools()
    from nbdev.config import get_config
    cfg = get_config()
    out = out or ROOT/cfg.doc_path.name
    if out == ROOT or out in ROOT.parents: raise DocsError(f"--out {out} would hold the repository")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out/'site_libs').is_dir())):
        raise DocsError(f"--out {out} is not empty and is not a built site; give another folder")
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    proc = process_notebooks(n_workers)
    log(f"nbdev processing into {proc.relative_to(ROOT)}: {time.time()-t0:.1f} s")
    tmp = proc/f'_docs.{os.getpid()}'                 # a `_` folder: smalldocs does not read it as pages
    try:
        site, dropped = render_site(proc, tmp)
        site_url = str(cfg.doc_host).rstrip('/') + str(cfg.doc_baseurl)
        pages = {p: p.read_text(encoding='utf-8') for p in sorted(tmp.rglob('*.html'))}
        pages, math_errors, n_eq = render_math(pages)
        pages = sig_anchors({p: fix_page(t, p, tmp, site_url) for p, t in pages.items()})
        for p, t in pages.items(): p.write_text(t, encoding='utf-8')
        copy_katex(tmp)
        fix_css(tmp)
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp), str(out))
    finally: shutil.rmtree(tmp, ignore_errors=True)
    warnings = list(site.warnings) + [f"KaTeX: {e}" for e in math_errors]
    size = dir_size(out)
    largest = sorted(((f.stat().st_size, f.relative_to(out)) for f in out.rglob('*.html')), reverse=True)[:3]
    summary = dict(out=str(out), pages=len(site.pages), equations=n_eq, bytes=size, seconds=round(time.time()-t0, 1),
                   warnings=warnings, not_yet_in_nav=dropped)
    log(f"wrote {len(site.pages)} pages, {n_eq} equations rendered with KaTeX, to {out}")
    log(f"site size: {size/1e6:.2f} MB (largest pages: " + ', '.join(f'{p} {s/1e3:.0f} kB' for s, p in largest) + ')')
    if dropped: log("nav entries with no page yet (left out): " + ', '.join(dropped))
    for w in warnings: print(f"warning: {w}", file=sys.stderr)
    log(f"docs built in {summary['seconds']} s")
    if strict and warnings: raise DocsError(f"{len(warnings)} warning(s) and --strict")
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', help='output folder (default: _docs, from settings.ini doc_path)')
    ap.add_argument('--workers', type=int, default=2, help='processes for the notebook processing')
    ap.add_argument('--strict', action='store_true', help='exit 1 on any warning (unknown config keys, broken links, bad TeX)')
    ap.add_argument('--json', action='store_true', help='print the summary as JSON on the last line')
    a = ap.parse_args(argv)
    try: s = build(a.out, a.workers, a.strict)
    except DocsError as e: sys.exit(f"build_docs: {e}")
    if a.json: print(json.dumps(s))


if __name__ == '__main__': main()
