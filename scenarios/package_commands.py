"""`hanbit-drill package-lambda OUT.zip`: the bundled service's `todo-api` as an AWS Lambda deployment package.

The zip is what deploy/reference-stack.yaml runs (runtime python3.11, handler
`service.api.lambda_entry.handler`):

- the modules of `service` the handler can import, found by reading their imports (ast, lazy imports
  included) from the handler's module: nothing else of the service, nothing of the harness;
- the third-party distributions those modules import, with their dependencies, at the versions installed
  here, **vendored** as wheels for Lambda's platform (manylinux2014, CPython 3.11, the function's
  architecture) through `pip install --target`. Lambda's Python runtime ships boto3 and botocore (and
  their dependencies), so those are left out.

Why vendored and not a layer: pydantic-core and orjson are compiled, so they must be wheels for Lambda's
platform whatever machine builds the zip; in the zip they are one artifact with the code (one upload, one
CodeSha256, a rollback of LIVE rolls code and dependencies back together), and the function's layers stay
the FIS extension's alone, which the drills' preflight compares.

The zip is reproducible (sorted entries, fixed timestamps and modes): the same code and versions give the
same CodeSha256, so redeploying an unchanged release does not look like a new one.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from common.errors import HarnessError, InvalidInputError
from scenarios.cli_options import absolute_path

HANDLER = "service.api.lambda_entry.handler"
RUNTIME_PYTHON = "3.11"  # deploy/reference-stack.yaml: Runtime python3.11
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# What Lambda's Python runtime already has (the AWS SDK and its dependencies): never vendored.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


class PackageError(HarnessError):
    """The package could not be built (a dependency not installed here, pip could not fetch a wheel)."""


@dataclass(frozen=True)
class LambdaPackage:
    path: Path
    service_modules: tuple[str, ...]
    vendored: tuple[str, ...]  # "name==version" of each vendored distribution
    size: int
    code_sha256: str  # base64 SHA-256 of the zip: what Lambda reports as CodeSha256


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(name: str, root: Path) -> Path | None:
    """The source of module `name` (dotted, from the directory holding the top-level package)."""
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def service_closure(entry: str = HANDLER.rsplit(".", 1)[0]) -> tuple[Path, dict[str, Path], set[str]]:
    """The directory holding `service`, the `service` modules `entry` can import (with their packages'
    __init__ modules), and the top-level names of everything else they import."""
    spec = importlib.util.find_spec("service")
    if spec is None or not spec.submodule_search_locations:
        raise PackageError("the service package is not importable here (pip install -e . first)")
    root = Path(list(spec.submodule_search_locations)[0]).parent
    modules: dict[str, Path] = {}
    external: set[str] = set()
    pending = [entry]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            module = ".".join(parts[:i])
            if module in modules:
                continue
            path = _module_file(module, root)
            if path is None:
                raise PackageError(f"{name} imports {module}, which has no source under {root}")
            modules[module] = path
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    # `from service.x import y`: y may be a submodule as well as a name in x.
                    names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
                else:
                    continue
                for imported in names:
                    top = imported.split(".")[0]
                    if top == "service":
                        if _module_file(imported, root) is not None:
                            pending.append(imported)
                    elif top not in sys.stdlib_module_names and top != "__future__":
                        external.add(top)
    return root, modules, external


def vendored_requirements(imports: set[str]) -> list[str]:
    """`name==version` of the installed distribution of each imported top-level name, less what the
    Lambda runtime provides."""
    owners = metadata.packages_distributions()
    wanted: dict[str, str] = {}
    for name in sorted(imports):
        dists = owners.get(name)
        if not dists:
            raise PackageError(f"the service imports {name}, which no installed distribution provides")
        for dist in dists:
            if _canonical(dist) not in RUNTIME_PROVIDED:
                wanted[_canonical(dist)] = f"{dist}=={metadata.version(dist)}"
    return [wanted[key] for key in sorted(wanted)]


def _installed_constraints() -> str:
    """Every installed distribution pinned: pip resolves the vendored ones' dependencies to the versions
    this environment runs (and the test suite passes) with."""
    pins = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name and _canonical(name) != "hanbit-drill":
            pins[_canonical(name)] = f"{name}=={dist.version}"
    return "\n".join(pins[key] for key in sorted(pins)) + "\n"


def vendor(requirements: list[str], arch: str, dest: Path) -> None:
    """`pip install --target dest` of Lambda-platform wheels (compiled ones must match Lambda, not this machine)."""
    constraints = dest.parent / "constraints.txt"
    constraints.write_text(_installed_constraints())
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(dest), "--only-binary=:all:", "--implementation", "cp",
        "--python-version", RUNTIME_PYTHON, "--platform", PLATFORMS[arch], "-c", str(constraints), *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = "\n".join(line for line in done.stderr.splitlines() if "is ignored" not in line)[-2000:]
        raise PackageError(
            f"pip could not fetch {arch} wheels for Python {RUNTIME_PYTHON} of {' '.join(requirements)} "
            f"(it needs the package index or its cache):\n{detail}"
        )


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16  # readable by Lambda's sandbox user whatever the builder's umask
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_package(out: Path, arch: str = "x86_64") -> LambdaPackage:
    if arch not in PLATFORMS:
        raise InvalidInputError(f"--arch must be one of {', '.join(PLATFORMS)}, not {arch!r}")
    root, modules, imports = service_closure()
    requirements = vendored_requirements(imports)
    entries: dict[str, bytes] = {}
    for path in modules.values():
        entries[path.relative_to(root).as_posix()] = path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="hanbit-lambda-") as tmp:
        site = Path(tmp) / "site"
        if requirements:
            vendor(requirements, arch, site)
        for path in sorted(site.rglob("*")) if site.exists() else []:
            relative = path.relative_to(site)
            if path.is_file() and "__pycache__" not in relative.parts and relative.parts[0] != "bin":
                if relative.parts[0] == "service":
                    raise PackageError("a vendored distribution ships a top-level `service` package")
                entries[relative.as_posix()] = path.read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            _add(archive, name, entries[name])
    partial.replace(out)  # a reader never sees half a zip
    data = out.read_bytes()
    return LambdaPackage(
        path=out,
        service_modules=tuple(sorted(modules)),
        vendored=tuple(requirements),
        size=len(data),
        code_sha256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
    )


def run_package(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix != ".zip":
        raise InvalidInputError(f"{out}: the package must be a .zip file")
    if out.is_dir():
        raise InvalidInputError(f"{out} is a directory")
    package = build_package(out, args.arch)
    print(f"wrote {package.path} ({package.size / 1e6:.1f} MB, CodeSha256 {package.code_sha256})")
    print(f"  handler:  {HANDLER}  (runtime python{RUNTIME_PYTHON}, {args.arch})")
    print(f"  service:  {len(package.service_modules)} modules")
    print(f"  vendored: {', '.join(package.vendored) or 'nothing'} (boto3 comes with the runtime)")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    package = subparsers.add_parser(
        "package-lambda", help="zip todo-api for AWS Lambda (python3.11): the handler and its vendored dependencies"
    )
    package.add_argument("out", type=absolute_path, metavar="OUT.zip", help="where to write the zip")
    package.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64",
                         help="the function's architecture (default: %(default)s)")
    package.set_defaults(func=run_package)
