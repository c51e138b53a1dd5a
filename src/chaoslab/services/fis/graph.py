"""The action graph: `startAfter` edges, cycle detection and a stable run order."""

from __future__ import annotations


def find_cycle(after: dict[str, list[str]]) -> list[str] | None:
    """A cycle in name -> [names it starts after] as [a, b, …, a], or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in after.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and dep in after:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in after:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def ready(after: dict[str, list[str]], finished: set[str], started: set[str]) -> list[str]:
    """Actions not yet started whose every predecessor has finished, in template order."""
    return [n for n, deps in after.items() if n not in started and all(d in finished for d in deps)]
