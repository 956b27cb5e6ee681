"""YAML to plain Python data, recording the line of every key and list item.

The text is composed to nodes first, so each value keeps the line it came from; duplicate keys,
recursive aliases and tags other than plain mappings and lists are reported, not guessed at.
"""

from __future__ import annotations

from typing import Any

import yaml

from scenarios.problems import PathT, Problems

# libyaml is ~15x faster; a file it rejects is parsed again in pure Python so messages never
# depend on whether libyaml is installed.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, problems: Problems) -> Any:
    """Plain Python data from YAML text, recording the line of every key and list item in `problems.lines`."""
    scratch = Problems(problems.filename)
    try:
        data = _read_yaml(text, scratch, _FAST_LOADER)
    except yaml.YAMLError:
        pass
    else:
        problems.merge(scratch)
        return data
    try:
        return _read_yaml(text, problems, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = ": ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        problems.add(("(yaml)",), what, line=line)
    except yaml.YAMLError as exc:
        problems.add(("(yaml)",), str(exc), line=1)
    return None


def _read_yaml(text: str, problems: Problems, loader_class: type) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder(loader, problems).build(node, ())
    finally:
        loader.dispose()


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, problems: Problems) -> None:
        self.loader = loader
        self.problems = problems
        self.stack: list[yaml.Node] = []

    def build(self, node: yaml.Node, path: PathT) -> Any:
        if any(node is seen for seen in self.stack):
            self.problems.add(path, "recursive alias", line=node.start_mark.line + 1)
            return None
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            self.problems.add(path, f"unsupported YAML tag {node.tag!r}", line=node.start_mark.line + 1)
            return None
        self.stack.append(node)
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                out = []
                for index, item in enumerate(node.value):
                    self.problems.lines.setdefault(path + (index,), item.start_mark.line + 1)
                    out.append(self.build(item, path + (index,)))
                return out
            return self.loader.construct_object(node)
        finally:
            self.stack.pop()

    def _mapping(self, node: yaml.MappingNode, path: PathT) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:  # duplicates among the node's own keys; `<<` merges may override
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    self.problems.add(path + (key_node.value,), f"duplicate key (first at line {seen[key_node.value]})", line=line)
                seen.setdefault(key_node.value, line)
        self.loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.add(path, "keys must be plain names", line=key_node.start_mark.line + 1)
                continue
            # The key's text, not its YAML 1.1 value: `on:` stays "on", `404:` stays "404".
            key = key_node.value
            self.problems.lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            out[key] = self.build(value_node, path + (key,))
        return out
