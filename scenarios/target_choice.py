"""`--target`: a target name from the scenario file, or the URL of the API under test.

Every command takes the same `--target`. A URL is matched, in order, against:
1. the file's targets (a bundled target's `url`, an aws target's `api_url`): that target, with
   its name, its protection and its provider;
2. a bundled service started with `hanbit-drill serve` from this directory (its default data
   directory names its URL in `ready.json`): a bundled target with that `data_dir`, so drills
   can drive its control plane;
3. otherwise, a bare endpoint: enough for `load`, `capacity` and `soak`, which only send traffic.
   Commands that inject faults need a target they can control and say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chaos.targets import BundledTarget, Target
from common.errors import InvalidInputError
from scenarios.loader import load_config
from scenarios.models import DEFAULT_TARGET, Config, _pick
from scenarios.target_kinds import session_for
from scenarios.target_session import EndpointSession, TargetSession
from service.regions.layout import DeploymentReady
from service.settings import DEFAULT_DATA_DIR

URL_SCHEMES = ("http://", "https://")


def is_url(spec: str) -> bool:
    return spec.startswith(URL_SCHEMES)


def _same_url(a: str | None, b: str) -> bool:
    return a is not None and a.rstrip("/") == b.rstrip("/")


@dataclass(frozen=True)
class TargetChoice:
    name: str
    target: Target
    controllable: bool = True  # False: a bare URL, nothing known of its control plane

    @property
    def api_url(self) -> str | None:
        return self.target.endpoint


def _served_from_here(url: str) -> Path | None:
    """The data directory of a `hanbit-drill serve` started in this directory, if it serves `url`."""
    ready = DeploymentReady.read(DEFAULT_DATA_DIR)
    if ready is not None and _same_url(ready.url, url):
        return Path(ready.data_dir)
    return None


def choose_target(config: Config | None, spec: str, *, allow_protected: bool) -> TargetChoice:
    """The target `spec` names. `config` may be None when there is no scenario file to read
    (then only `local` and URLs are known). Raises InvalidInputError for unknown or protected ones."""
    if is_url(spec):
        choice = _by_url(config, spec)
    elif "://" in spec:
        raise InvalidInputError(f"--target {spec}: a URL must start with http:// or https://")
    else:
        targets = config.all_targets() if config is not None else {DEFAULT_TARGET: BundledTarget()}
        choice = TargetChoice(spec, _pick(targets, spec, "target"))
    if choice.target.protected and not allow_protected:
        raise InvalidInputError(f"target {choice.name!r} is protected: pass --allow-protected to use it")
    return choice


def _by_url(config: Config | None, url: str) -> TargetChoice:
    if config is not None:
        for name, target in config.all_targets().items():
            if _same_url(target.endpoint, url):
                return TargetChoice(name, target)
    data_dir = _served_from_here(url)
    if data_dir is not None:
        return TargetChoice(url, BundledTarget(url=url, data_dir=str(data_dir)))
    return TargetChoice(url, BundledTarget(url=url), controllable=False)


def require_control(choice: TargetChoice, file: str) -> None:
    """Drills inject faults: a bare URL is not enough."""
    if not choice.controllable:
        raise InvalidInputError(
            f"--target {choice.name}: no target in {file} has this URL, and no `hanbit-drill serve` started from "
            f"this directory serves it; a drill must control its target: add it under `targets:` "
            f"(kind: bundled with url and data_dir, or kind: aws with api_url) and name it"
        )


def with_target(config: Config, choice: TargetChoice) -> Config:
    """The config with a URL-implied target added under its name, so `resolve` finds it."""
    if choice.name in config.all_targets():
        return config
    return config.model_copy(update={"targets": {**config.targets, choice.name: choice.target}})



def optional_config(file: str, target: str) -> Config | None:
    """The scenario file, unless the target needs none (`local`, a URL) and there is none to read:
    `load`, `capacity` and `soak` then run from any directory."""
    if not Path(file).exists() and (is_url(target) or target == DEFAULT_TARGET):
        return None
    return load_config(file, require_providers=False)


@contextmanager
def open_session(choice: TargetChoice, run_dir: Path) -> Iterator[TargetSession]:
    """The target, started for the run when the harness owns it, and stopped after."""
    session = session_for(choice.target) if choice.controllable else EndpointSession(choice.name)
    try:
        session.start(run_dir)
        yield session
    finally:
        session.close()
