"""The build step pyproject.toml cannot say: a wheel carries the top-level templates/, migrations/
and translations/ (compiled to .mo) inside the package, in grants/_data/ (see grants/_data/__init__.py).

The checkout keeps them where developers edit them; only the build folder gets the copies. An
editable install copies nothing: the app then finds them in the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COPIED = ("templates", "migrations")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", ".*")


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """translations/<lang>/LC_MESSAGES/messages.po -> target/<lang>/LC_MESSAGES/messages.mo, as
    `pybabel compile` does (fuzzy entries left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo)
    if not written:
        raise SystemExit(f"no translation catalogs under {source}")
    return written


class build_py_with_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        data = Path(self.build_lib) / "grants" / "_data"
        for name in COPIED:
            shutil.rmtree(data / name, ignore_errors=True)
            shutil.copytree(HERE / name, data / name, ignore=SKIPPED)
        shutil.rmtree(data / "translations", ignore_errors=True)
        compile_catalogs(HERE / "translations", data / "translations")


setup(cmdclass={"build_py": build_py_with_data})
