"""The prediction graph runs its nodes in a precomputed order, without dask.

Rasa 3.6's ``DaskGraphRunner.run`` rebuilds the minimal schema for its
targets, turns it into a dask task graph and hands it to dask's synchronous
scheduler on every call: twice per message (NLU, then each policy
prediction). The scheduling, not the components, was about 8% of the
server's CPU under load (issue 12's profile). The graph never changes after
loading, so here the order of the nodes each target list needs is computed
once and the nodes are called in that order with the same arguments dask
would pass: each parent's ``(name, output)``, the given inputs as
``(name, value)``, and the bare name of a parent that has no output (as dask
passes an unresolved key, and ``GraphNode`` warns about it). The inputs are
checked for clashes with node names, and a node's exception propagates (a
``RuntimeError`` as ``GraphRunError``), exactly as before.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

ORIGINAL = DaskGraphRunner.run


Order = List[Tuple[str, Tuple[str, ...]]]


def _order(runner: DaskGraphRunner, targets: Tuple[str, ...]) -> Tuple[Order, frozenset]:
    """Nodes the targets need, parents first, each with its parents' names; and their names."""
    cache: Dict[Tuple[str, ...], Tuple[Order, frozenset]] = runner.__dict__.setdefault(
        "_sequential_orders", {})
    if targets in cache:
        return cache[targets]
    nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes
    order: Order = []
    seen: set = set()

    def visit(name: str) -> None:
        if name in seen or name not in nodes:
            return
        seen.add(name)
        needs = tuple(nodes[name].needs.values())
        for parent in needs:
            visit(parent)
        order.append((name, needs))

    for target in targets:
        visit(target)
    cache[targets] = order, frozenset(name for name, _ in order)
    return cache[targets]


def run(
    self: DaskGraphRunner,
    inputs: Optional[Dict[str, Any]] = None,
    targets: Optional[List[str]] = None,
) -> Dict[str, Any]:
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    order, names = _order(self, run_targets)
    results: Dict[str, Any] = {}
    for input_name, input_value in (inputs or {}).items():
        if isinstance(input_value, str) and input_value in names:
            raise GraphRunError(
                f"Input value '{input_value}' clashes with a node name. Make sure "
                f"that none of the input names passed to the `run` method are the "
                f"same as node names in the graph schema."
            )
        results[input_name] = (input_name, input_value)
    try:
        for name, needs in order:
            results[name] = self._instantiated_nodes[name](*(results.get(p, p) for p in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    # Each result is a node's (name, output), so this is {name: output}, as dask's was.
    return dict(results.get(target, target) for target in run_targets)


def install() -> None:
    DaskGraphRunner.run = run
