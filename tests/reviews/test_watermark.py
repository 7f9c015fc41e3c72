from applications.conftest import complete, ready, world  # noqa: F401

from grants.applications import services as applications
from grants.applications.pdf import _application_context
from grants.core.pdf import render_html
from flask_babel import force_locale
import os

def test_dump(ready):
    for loc in ("ru", "kk", "en"):
        with force_locale(loc):
            ctx = _application_context(ready.app, loc)
        open(f"/tmp/wm/{os.environ['WHICH']}-draft-{loc}.html", "w").write(render_html("application", loc, **ctx))
    applications.submit(ready.lead_user, ready.app)
    for loc in ("ru", "kk", "en"):
        with force_locale(loc):
            ctx = _application_context(ready.app, loc)
        open(f"/tmp/wm/{os.environ['WHICH']}-sub-{loc}.html", "w").write(render_html("application", loc, **ctx))
