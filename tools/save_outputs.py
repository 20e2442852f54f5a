"""Save a finished study's executed notebooks as the pages' outputs: nbs/experiments/<factor>/<factor>.ipynb and
nbs/results/summary.ipynb get the cells and outputs of DIR/<factor>/<factor>.ipynb and DIR/summary.ipynb, without
papermill's injected-parameters cell (the pages keep their own defaults). Then the experiments index
(nbs/experiments/index.ipynb) is executed again: its thumbnails are the pages' first figures; and the README's results
table (in nbs/index.ipynb) is written again from the study's results (`report.brief_table`), so that it cannot disagree
with the summary. The README's prose states figures by hand: read it against the new summary. Run nbdev_clean and
tools/make_readme.py afterwards.

    python tools/save_outputs.py study_out
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def save(executed:Path, page:Path):
    "Copy the executed notebook's cells onto the page, minus the injected parameters."
    nb = json.loads(executed.read_text())
    nb['cells'] = [c for c in nb['cells'] if 'injected-parameters' not in c.get('metadata', {}).get('tags', [])]
    page.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def refresh_index():
    "Execute the experiments index in place: one line and one thumbnail per experiment, from the pages just saved."
    import nbformat
    from nbclient import NotebookClient
    page = ROOT / 'nbs' / 'experiments' / 'index.ipynb'
    nb = nbformat.read(page, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(page.parent)}}).execute()
    nbformat.write(nb, page); print(f"executed {page.relative_to(ROOT)}")

def readme_table(out:Path, index:Path=ROOT / 'nbs' / 'index.ipynb') -> bool:
    "Write the results table of the home page (and so the README) from the study's results; False if it has none."
    from emm_nb.report import brief_table, load_results
    res = load_results(out)
    if not res: return False
    nb = json.loads(index.read_text())
    head = '| experiment | setting: EMM or ratio [95 %] |'
    cell = next(c for c in nb['cells'] if head in ''.join(c['source']))
    lines = ''.join(cell['source']).split('\n')
    i = next(k for k, l in enumerate(lines) if l.startswith(head))
    j = next((k for k in range(i, len(lines)) if not lines[k].startswith('|')), len(lines))
    text = '\n'.join(lines[:i] + brief_table(res).split('\n') + lines[j:])
    cell['source'] = [l + '\n' for l in text.split('\n')[:-1]] + [text.split('\n')[-1]]
    index.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return True

def main(out:str):
    out = Path(out)
    pages = sorted((ROOT / 'nbs' / 'experiments').glob('*/*.ipynb')) + [ROOT / 'nbs' / 'results' / 'summary.ipynb']
    for page in pages:
        executed = out / (page.stem if page.parent.parent.name == 'experiments' else '') / page.name
        if executed.exists(): save(executed, page); print(f"saved {page.relative_to(ROOT)} from {executed}")
        else: print(f"not in {out}: {page.relative_to(ROOT)} kept as it was")
    refresh_index()
    if readme_table(out): print("wrote the README's results table (nbs/index.ipynb) from the study's results")

if __name__ == '__main__': main(sys.argv[1] if len(sys.argv) > 1 else 'study_out')
