"""No import cycles between any two modules of leadgate, flows and connectors (imports inside functions count)."""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _example(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One import chain around the cycle, for the failure message."""
    first, second = component[0], next(m for m in component[1:] if graph.chain_exists(component[0], m))
    there = graph.find_shortest_chain(first, second) or ()
    back = graph.find_shortest_chain(second, first) or ()
    return " -> ".join([*there, *back[1:]])


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("leadgate", "flows", "connectors")
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(_example(graph, c) for c in cycles)


def test_the_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]
    assert _example(graph, ["pkg.a", "pkg.b"]) == "pkg.a -> pkg.b -> pkg.a"
