r"""Progress bars for long solves (tqdm), shown only when ``verbose=True``."""
from __future__ import annotations

__all__ = ["progress"]


class _NoBar:
    def __call__(self, **postfix):
        pass

    def note(self, text: str):
        pass

    def close(self):
        pass


class _TqdmBar:
    def __init__(self, total: int, desc: str, unit: str):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False)

    def __call__(self, **postfix):
        self.bar.update(1)
        self.bar.set_postfix(**postfix)

    def note(self, text: str):
        """Show ``text`` after the bar without a step (where a long step is)."""
        self.bar.set_postfix_str(text)

    def close(self):
        self.bar.close()


def progress(verbose: bool, total: int, desc: str, unit: str):
    """A callable ``bar(**postfix)`` (one step per call) with ``note(text)`` (a status within a step)
    and ``close()``; silent unless verbose."""
    return _TqdmBar(total, desc, unit) if verbose else _NoBar()
