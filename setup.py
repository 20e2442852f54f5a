# nbdev 2 template setup.py, without the pkg_resources import that current setuptools no longer ships
from configparser import ConfigParser
from pathlib import Path
import json, setuptools, shlex
from setuptools.command.build_py import build_py

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = 'version description keywords author author_email'.split()
missing = [o for o in expected if o not in cfg]
if missing: raise ValueError(f"settings.ini lacks: {missing}")

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
lic = licenses[cfg['license']]
min_python = cfg['min_python']
requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
scripts = [s.strip() for s in cfg.get('console_scripts', '').split('\n') if s.strip()]

class build_py_with_notebooks(build_py):
    "Ship the experiment and summary notebooks inside the package (emm_nb/notebooks, outputs cleared) with their data files: an installed wheel runs the study."
    def run(self):
        super().run()
        dst = Path(self.build_lib) / cfg['lib_path'] / 'notebooks'
        for src in [*Path('nbs/experiments').glob('*/*.ipynb'), Path('nbs/results/summary.ipynb')]:
            nb = json.loads(src.read_text(encoding='utf-8'))
            for c in nb['cells']:
                if c['cell_type'] == 'code': c['outputs'], c['execution_count'] = [], None
            out = dst / src.relative_to('nbs'); out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        for src in Path('nbs/experiments').glob('*/*.json'):      # the pages' own data (the plateau scan), read where they run
            out = dst / src.relative_to('nbs'); out.parent.mkdir(parents=True, exist_ok=True); out.write_bytes(src.read_bytes())

setuptools.setup(
    cmdclass={'build_py': build_py_with_notebooks},
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'License :: ' + lic[1],
                 'Natural Language :: ' + cfg['language'].title(),
                 'Programming Language :: Python :: 3.11'],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['emm_nb', 'emm_nb.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements},
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': scripts,
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    version=cfg['version'],
    description=cfg['description'],
    keywords=cfg['keywords'],
    author=cfg['author'],
    author_email=cfg['author_email'],
)
