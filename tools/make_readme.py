"""Write README.md from nbs/index.ipynb without Quarto (nbdev_readme needs Quarto, absent on these machines).

Markdown cells are copied; code cells not marked `#| hide` become ```python blocks; their saved text outputs
are dropped, images too (the README is the text of the home page; the site shows the figures).
"""
import json, re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text())
parts = []
for c in nb['cells']:
    src = ''.join(c['source']).rstrip()
    if not src: continue
    if c['cell_type'] == 'markdown':
        # the front-matter cell: '# Title' + '> description' (nbdev turns it into the page title)
        parts.append(src)
    elif c['cell_type'] == 'code':
        if re.search(r'^#\|\s*(hide|exec_doc|include:\s*false|echo:\s*false)', src, re.M): continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code: parts.append(f'```python\n{code}\n```')
out = '<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook -->\n\n' + '\n\n'.join(parts) + '\n'
(root/'README.md').write_text(out)
