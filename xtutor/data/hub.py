"""One door to the Hugging Face Hub that fails fast and clearly when the Hub is unreachable.

``datasets.load_dataset`` retries an unreachable Hub with exponential backoff (about 25 s here
before it gives up, longer where DNS or packets hang). :func:`load_hub_dataset` instead:

* honours offline mode (``HF_HUB_OFFLINE=1``, ``HF_DATASETS_OFFLINE=1`` or
  ``TRANSFORMERS_OFFLINE=1``, whether set before or after ``datasets`` was imported): only the
  local cache is used, and a miss fails at once with a message that says offline mode is on;
* otherwise probes the Hub endpoint (``HF_ENDPOINT``, default ``https://huggingface.co``) with a
  short timeout (``XTUTOR_HUB_TIMEOUT`` seconds, default 3) before calling ``load_dataset``;
* turns every failure into a :class:`HubUnavailableError` (a RuntimeError) that names the dataset,
  config and split and says which loader argument takes a local copy instead.

Example:
    >>> ds = load_hub_dataset("facebook/xnli", "en", "test",
    ...                       local_hint="pass path= to xtutor.data.load_xnli")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

_TRUE = {"1", "ON", "YES", "TRUE"}
DEFAULT_PROBE_TIMEOUT = 3.0


class HubUnavailableError(RuntimeError):
    """The Hugging Face Hub could not provide a dataset (offline, unreachable, not found)."""


def hub_endpoint() -> str:
    """The Hub endpoint: ``HF_ENDPOINT`` when set, else ``https://huggingface.co``."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


#: Environment variables that switch the Hugging Face libraries to offline mode
#: (``TRANSFORMERS_OFFLINE`` is the older name that ``huggingface_hub`` still honours).
OFFLINE_ENV_VARS: tuple[str, ...] = (
    "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE",
)

#: Module attributes where the libraries keep the offline flag they read at import.
_OFFLINE_FLAGS: tuple[tuple[str, str], ...] = (
    ("datasets.config", "HF_HUB_OFFLINE"),
    ("datasets.config", "HF_DATASETS_OFFLINE"),
    ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
)


def hub_offline_reason() -> str | None:
    """What turns offline mode on (``"HF_HUB_OFFLINE=1"``, ...), or None when it is off.

    Reads the environment now (the libraries read it once, at import), and also the flags of
    ``datasets`` and ``huggingface_hub`` when they are already imported: a variable set before
    the import keeps those libraries offline even after it is unset.

    Example:
        >>> reason = hub_offline_reason()  # e.g. 'HF_HUB_OFFLINE=1'
        >>> reason is None or "OFFLINE" in reason
        True
    """
    import sys

    for var in OFFLINE_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value.upper() in _TRUE:
            return f"{var}={value}"
    for module, attr in _OFFLINE_FLAGS:
        if getattr(sys.modules.get(module), attr, False) is True:
            return (f"{module}.{attr} is True (an offline variable was set when {module} was "
                    f"imported; restart Python without it to go online)")
    return None


def hub_offline_requested() -> bool:
    """True when offline mode is on (see :func:`hub_offline_reason`)."""
    return hub_offline_reason() is not None


def probe_hub(endpoint: str | None = None, timeout: float | None = None) -> str | None:
    """None when the Hub endpoint answers within ``timeout`` seconds, else the reason it did not.

    Any HTTP answer (even an error status) counts as reachable. Name resolution is included in
    the timeout (it runs in a daemon thread), so a hanging DNS cannot block the caller.
    """
    url = endpoint or hub_endpoint()
    if timeout is None:
        timeout = float(os.environ.get("XTUTOR_HUB_TIMEOUT", DEFAULT_PROBE_TIMEOUT))
    result: list[str | None] = []

    def _probe() -> None:
        try:
            req = urllib.request.Request(url + "/api/whoami-v2", method="HEAD")
            with urllib.request.urlopen(req, timeout=timeout):
                pass
            result.append(None)
        except urllib.error.HTTPError:
            result.append(None)  # the server answered
        except Exception as e:  # URLError, TimeoutError, OSError, ...
            reason = getattr(e, "reason", e)
            result.append(f"{type(e).__name__}: {reason}")

    t = threading.Thread(target=_probe, daemon=True, name="xtutor-hub-probe")
    t.start()
    t.join(timeout + 0.5)
    if not result:
        return f"no answer from {url} within {timeout:g} s"
    return result[0]


@contextlib.contextmanager
def _offline_mode() -> Iterator[None]:
    """Force the libraries' offline flags for the duration (they read the env at import)."""
    import datasets.config as dcfg

    saved: list[tuple[Any, str, Any]] = []
    mods: list[Any] = [dcfg]
    with contextlib.suppress(ImportError):
        from huggingface_hub import constants as hcst

        mods.append(hcst)
    for mod in mods:
        for attr in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            if hasattr(mod, attr):
                saved.append((mod, attr, getattr(mod, attr)))
                setattr(mod, attr, True)
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def _message(
    name: str, config: str | None, split: str | None, why: str, hint: str, offline: bool
) -> str:
    what = f"Hugging Face dataset {name!r} (config {config!r}, split {split!r})"
    fix = hint or "pass a local copy to the loader's path= argument"
    cache = "" if offline else (
        "; or, if the dataset is in your Hugging Face cache, set HF_HUB_OFFLINE=1"
    )
    return f"cannot load {what}: {why}. To work offline, {fix}{cache}."


def _offline_why(reason: str, error: Exception) -> str:
    return (f"offline mode is on ({reason}) and the dataset is not in the local Hugging Face "
            f"cache ({type(error).__name__}: {error})")


def load_hub_dataset(
    name: str,
    config: str | None = None,
    split: str | None = None,
    *,
    local_hint: str = "",
    probe_timeout: float | None = None,
    **kw: Any,
) -> Any:
    """``datasets.load_dataset(name, config, split=split, **kw)`` that fails fast when offline.

    ``local_hint`` completes the error message ("pass path= to xtutor.data.load_xnli ...").
    Raises :class:`HubUnavailableError` (a RuntimeError) when offline mode is on and the cache
    misses, when the Hub does not answer within ``probe_timeout`` seconds, or when the load
    fails for any other reason (unknown dataset or config, connection dropped).

    Example:
        >>> load_hub_dataset("nyu-mll/glue", "sst2", "validation")  # doctest: +SKIP
        Dataset({features: ['sentence', 'label', 'idx'], num_rows: 872})
    """
    offline_reason = hub_offline_reason()
    offline = offline_reason is not None
    if not offline:
        why = probe_hub(timeout=probe_timeout)
        if why is not None:
            raise HubUnavailableError(
                _message(name, config, split, f"the Hub at {hub_endpoint()} is unreachable "
                                              f"({why})", local_hint, offline)
            )
    import datasets

    try:
        if offline:
            with _offline_mode():
                return datasets.load_dataset(name, config, split=split, **kw)
        return datasets.load_dataset(name, config, split=split, **kw)
    except Exception as e:
        if offline_reason is not None:
            why = _offline_why(offline_reason, e)
        else:
            why = f"{type(e).__name__}: {e}"
        raise HubUnavailableError(_message(name, config, split, why, local_hint, offline)) from e


def hub_label_names(ds: Any, column: str = "label") -> list[str] | None:
    """The ClassLabel names of a Hub dataset's label column, or None if it has none."""
    feats = getattr(ds, "features", None)
    if feats is None or column not in feats:
        return None
    names = getattr(feats[column], "names", None)
    return list(names) if names else None
