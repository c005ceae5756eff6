"""Sphinx configuration of covcone's documentation (build: ``sphinx-build -W -b html docs build/docs``)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import covcone

project = "covcone"
author = "covcone developers"
copyright = "covcone developers"
version = release = covcone.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" as fields: no duplicate of the dataclass members autodoc lists
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
html_theme = "alabaster"
html_static_path: list = []

# ---- the API page lists exactly the public names of covcone/__init__.py (_EXPORTS) ----------------
_MARKER = ".. covcone-exports::"


def _exports_rst() -> str:
    import importlib
    import inspect

    lines = []
    for name in sorted(covcone._EXPORTS, key=str.lower):
        module = f"covcone.{covcone._EXPORTS[name]}"
        obj = getattr(importlib.import_module(module), name)
        target = f"{module}.{name}"
        if inspect.isclass(obj):
            lines += [f".. autoclass:: {target}", "   :members:", ""]
        elif inspect.isfunction(obj):
            lines += [f".. autofunction:: {target}", ""]
        else:  # an instance, e.g. the activation ``relu``
            lines += [f".. autodata:: {target}", "   :no-value:", "",
                      f"   {type(obj).__name__} ``{name}`` (see :class:`covcone.activations.Activation`).", ""]
    return "\n".join(lines)


def _insert_exports(app, docname, source):
    if docname == "api" and _MARKER in source[0]:
        source[0] = source[0].replace(_MARKER, _exports_rst())


def _escape_bars(app, what, name, obj, options, lines):
    r"""Docstrings write norms as ``|x|`` and ``‖x‖``; in reStructuredText ``|x|`` is a
    substitution reference.  Escape ``|`` outside inline literals (and leave table rows alone)."""
    for i, line in enumerate(lines):
        if "|" not in line or line.lstrip().startswith(("|", "+")):
            continue
        parts = line.split("``")
        lines[i] = "``".join(p.replace("|", r"\|") if j % 2 == 0 else p for j, p in enumerate(parts))


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_*_request`` methods (metadata routing): not covcone's API."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
    app.connect("source-read", _insert_exports)
    app.connect("autodoc-process-docstring", _escape_bars)
