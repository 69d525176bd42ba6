"""`make lint`: no module imports another app's `_private` names (ARCHITECTURE.md §3a).

import-linter sees modules, not names, so this reads the source. In apps/ and config/ it reports
  - `from apps.<other>.<module> import _name` (and the relative form reaching another app);
  - `<module>._name`, where <module> is another app's module bound by `import apps.<other>.x`,
    `import apps.<other>.x as y` or `from apps.<other> import x`.
"Another app" is any app but the file's own (config/ has none, so every app is another).
Dunder names (`__all__`) are public. Private modules (`apps.x._y`) are import-linter's
`private_modules` contract. Usage: check_private_names.py [ROOT]; exits 1 with one line per
finding."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SCANNED = ("apps", "config")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "apps" and len(parts) > 1 else None


def is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def findings(root: Path, path: Path) -> Iterator[str]:
    module = module_name(root, path)
    own_app = app_of(module)
    tree = ast.parse(path.read_text(), filename=str(path))

    def foreign(target: str) -> bool:
        app = app_of(target)
        return app is not None and app != own_app

    # Local names bound to another app's modules: alias -> dotted module name. `import apps.x.y`
    # binds `apps`, whose attribute chains are resolved below.
    modules: dict[str, str] = {}
    imports_apps = False
    where = path.relative_to(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and foreign(alias.name):
                    modules[alias.asname] = alias.name
                elif alias.name.split(".")[0] == "apps":
                    imports_apps = True
        elif isinstance(node, ast.ImportFrom):
            source = absolute(node, module, path.name == "__init__.py")
            if not foreign(source):
                continue
            for alias in node.names:
                if is_private(alias.name):
                    yield f"{where}:{node.lineno}: imports {source}.{alias.name}"
                elif is_module(root, f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
    if imports_apps:
        modules.setdefault("apps", "apps")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        chain = dotted(node.value)
        if not chain or chain[0] not in modules:
            continue
        target = ".".join([modules[chain[0]], *chain[1:]])
        if foreign(target) and is_module(root, target):
            yield f"{where}:{node.lineno}: uses {target}.{node.attr}"


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    found = [
        line
        for top in SCANNED
        if (root / top).is_dir()
        for path in sorted((root / top).rglob("*.py"))
        for line in findings(root, path)
    ]
    for line in found:
        print(line)
    if found:
        print(
            f"check_private_names: {len(found)} use(s) of another app's _private names; "
            "make the name public (and part of that app's services or selectors) or move it.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
