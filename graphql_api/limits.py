"""Limits that keep one GraphQL document from taking the server down.

Depth, aliases and the number of fields a document selects once its fragments are expanded
are checked in one linear pass: each fragment's cost is computed once and reused wherever it
is spread, so 20 fragments each spreading the previous twice cost 20 steps, not 2^20. Only a
document within the limits goes on to graphql-core's own validation, which runs on a worker
thread so that a costly document never holds up other requests."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import anyio.to_thread
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation.validate import ValidationAbortedError
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
# Fields selected once fragments are expanded: a document of MAX_TOKENS tokens without
# fragments never reaches it, fragment explosion does.
MAX_FIELDS = 5000
# The parser reads about 2.5 MB/s; longer documents (big literals, padding) are refused before
# parsing. Large values belong in variables.
MAX_QUERY_LENGTH = 100_000
# graphql-core meters OverlappingFieldsCanBeMergedRule (500,000 units, about 2 s of CPU, by
# default); GraphiQL's introspection query needs under 500. A document past the budget is
# refused (see _explained).
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 50_000

# Counts beyond this are reported as "more than", not as numbers hundreds of digits long.
_SHOWN_COUNT_LIMIT = 1_000_000


def query_length_error(query: object) -> GraphQLError | None:
    """The error for a document too long to parse, checked by the transports before parsing."""
    if isinstance(query, str) and len(query) > MAX_QUERY_LENGTH:
        return GraphQLError(
            f"The document is {len(query)} characters long. Allowed: {MAX_QUERY_LENGTH}; pass large values as variables."
        )
    return None


@dataclass(frozen=True)
class _Cost:
    """What a selection set costs once its fragment spreads are expanded. Adding siblings keeps
    the deepest depth and sums the counts."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0

    def __add__(self, other: _Cost) -> _Cost:
        return _Cost(max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields)


_NOTHING = _Cost()


def limit_errors(document: DocumentNode) -> list[GraphQLError]:
    """Errors for every limit the document's operations exceed; linear in the document's size.
    Unknown fragments and fragment cycles cost nothing here: graphql-core's rules report them."""
    fragment_costs = _fragment_costs(document)
    errors: list[GraphQLError] = []
    aliases = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        name = operation.name.value if operation.name else "anonymous"
        cost = _selection_cost(operation.selection_set, fragment_costs)
        aliases += cost.aliases
        if cost.depth > MAX_QUERY_DEPTH:
            errors.append(GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_QUERY_DEPTH}", [operation]))
        if cost.fields > MAX_FIELDS:
            errors.append(GraphQLError(
                f"'{name}' selects {_shown(cost.fields)} fields once its fragments are expanded. Allowed: {MAX_FIELDS}",
                [operation],
            ))
    if aliases > MAX_ALIASES:
        errors.append(GraphQLError(f"{_shown(aliases)} aliases found. Allowed: {MAX_ALIASES}"))
    return errors


def _shown(count: int) -> str:
    return str(count) if count <= _SHOWN_COUNT_LIMIT else f"more than {_SHOWN_COUNT_LIMIT}"


def _fragment_costs(document: DocumentNode) -> dict[str, _Cost]:
    """Each fragment's cost, computed once, after the fragments it spreads (an explicit stack:
    a chain of hundreds of fragments must not exhaust Python's recursion limit)."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    spreads = {name: _spread_names(fragment.selection_set) for name, fragment in fragments.items()}
    costs: dict[str, _Cost] = {}
    for root in fragments:
        if root in costs:
            continue
        path = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                # A spread back onto the path closes a cycle; it is left out (cost nothing).
                if spread in fragments and spread not in costs and spread not in on_path:
                    path.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                costs[name] = _selection_cost(fragments[name].selection_set, costs)
    return costs


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    names, stack = [], [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif selection.selection_set:
                stack.append(selection.selection_set)
    return names


def _selection_cost(selection_set: SelectionSetNode, fragment_costs: dict[str, _Cost]) -> _Cost:
    """Recursion here only follows one definition's nesting, which the parser keeps under 200."""
    total = _NOTHING
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragment_costs.get(selection.name.value, _NOTHING)
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragment_costs)
        elif isinstance(selection, FieldNode):
            inner = _selection_cost(selection.selection_set, fragment_costs) if selection.selection_set else _NOTHING
            # As Strawberry's QueryDepthLimiter did: introspection (GraphiQL's schema query nests
            # deeper than 10) adds no depth; graphql-core's MaxIntrospectionDepthRule bounds it.
            counts_depth = selection.selection_set is not None and not selection.name.value.startswith("__")
            total += _Cost(inner.depth + 1 if counts_depth else 0, inner.aliases + (selection.alias is not None), inner.fields + 1)
    return total


def _explained(error: GraphQLError) -> GraphQLError:
    """graphql-core's bare message when the overlapping-fields budget runs out, with its cause."""
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return GraphQLError(
            "Validation aborted: a selection repeats the same field or fragment too many times; select each once."
        )
    return error


class QueryLimits(SchemaExtension):
    """Token limit at parse time; depth, alias and expanded-field limits before graphql-core's
    validation, which then runs off the event loop. Applies to HTTP and websocket operations."""

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Setting pre_execution_errors (even to []) tells Strawberry validation has been run.
        if document is not None and context.pre_execution_errors is None and context.validation_rules:
            errors = limit_errors(document)
            if not errors:
                errors = await anyio.to_thread.run_sync(validate_document, context.schema._schema, document, context.validation_rules)
                errors = [_explained(error) for error in errors]
            context.pre_execution_errors = errors
        yield
