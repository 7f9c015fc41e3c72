"""Where the app finds its templates, translations and migrations.

In a checkout they live at the top level (templates/, translations/, migrations/), where developers
edit them. An installed wheel has no checkout beside it, so the build (setup.py) copies them into this
package, with the translations compiled to .mo catalogs. Each is looked for here first, then in the
checkout."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent
RESOURCES = ("templates", "translations", "migrations")


def resource(name: str) -> Path:
    """The folder `name` ("templates", "translations" or "migrations"): the packaged copy when the
    app runs from a wheel, else the checkout's."""
    packaged = HERE / name
    return packaged if packaged.is_dir() else CHECKOUT / name


def installed() -> bool:
    """True when the app runs from a built wheel (its resources are packaged)."""
    return (HERE / "templates").is_dir()


def default_instance() -> Path:
    """The instance folder when GRANTS_INSTANCE_DIR is not set: the checkout's instance/, or for an
    installed wheel ./instance in the working directory (never inside site-packages)."""
    return Path.cwd() / "instance" if installed() else CHECKOUT / "instance"
