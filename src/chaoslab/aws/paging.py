"""One paginator for every List/Describe call that pages.

A token is the offset of the next item, handed out by the service and only ever passed back by
callers (they must treat it as opaque, as AWS's own tokens are). What differs between services
is only naming and wording, so each service describes its paging once with a `Paginator`: the
member that carries the token (`NextToken`, `nextToken`, IAM's and RDS's `Marker`) and the one
that hands it back when it differs (ELBv2's `NextMarker`), the one that carries the page size
(`MaxResults`, `MaxRecords`, `maxResults`, `limit`, `MaxItems`, `PageSize`), the default,
smallest and largest page, and its own errors for a bad token or size, which the wire layer then
shapes for the service's protocol like any other `AwsError`. An operation whose bounds differ
from its service's takes a `dataclasses.replace` of the service's paginator.

Items are listed in creation order, so an offset stays valid while resources are added: a new
one lands after every page already handed out, and a walk that started before it sees it last.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from chaoslab.errors import AwsError
from chaoslab.types import ApiHandler

T = TypeVar("T")


@dataclass(frozen=True)
class Paginator:
    """How one service pages. `maximum` bounds a page size the caller gives (minimum..maximum)
    and `bad_size(size, maximum)` is the error for one outside it; without them the model's
    range, which the gateway checks before any handler runs, is the only bound. `next_token`
    names the output member for the next token when it is not `token` (ELBv2's `NextMarker`).
    `truncated` names the member that says whether more items follow (IAM's `IsTruncated`)."""

    token: str
    size: str | None
    default: int
    bad_token: Callable[[str], AwsError]
    maximum: int | None = None
    bad_size: Callable[[int, int], AwsError] | None = None
    truncated: str | None = None
    next_token: str | None = None
    minimum: int = 1

    def __post_init__(self) -> None:
        if (self.maximum is None) != (self.bad_size is None):
            raise ValueError("a paginator's maximum page size comes with the error for exceeding it")

    def page(
        self, items: Sequence[T], params: Mapping[str, Any], *, default: int | None = None
    ) -> tuple[list[T], dict[str, Any]]:
        """The page the request's token and size ask for, and the output members that go with
        it: the next token (absent on the last page) and, if the service has one, the flag."""
        size = params.get(self.size) if self.size else None
        chunk, token = self.slice(items, params.get(self.token), size, default=default)
        members: dict[str, Any] = {} if token is None else {self.next_token or self.token: token}
        if self.truncated:
            members[self.truncated] = token is not None
        return chunk, members

    def around(self, handler: ApiHandler, key: str, *, default: int | None = None) -> ApiHandler:
        """`handler`, whose answer lists everything under `key`, answering one page of it: for
        operations a backend method serves whole (`delegate`). Only a handler that answers at
        once can be wrapped, which is checked here, at import."""
        if inspect.iscoroutinefunction(handler):
            raise TypeError("Paginator.around wraps handlers that answer at once, not coroutines")

        def paged(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            out = handler(ctx, params)
            if not isinstance(out, dict):
                raise TypeError(f"a paged handler must answer a dict, not {type(out).__name__}")
            chunk, members = self.page(out[key], params, default=default)
            return {**out, key: chunk, **members}

        return paged

    def slice(
        self, items: Sequence[T], token: str | None, size: int | None = None, *, default: int | None = None
    ) -> tuple[list[T], str | None]:
        """One page and the token for the next (None on the last page). `default` overrides the
        service's default page size for one operation."""
        count = self._size(size, default)
        start = self._start(token)
        end = start + count
        return list(items[start:end]), (str(end) if end < len(items) else None)

    def _size(self, size: int | None, default: int | None) -> int:
        if size is None:
            return self.default if default is None else default
        value = int(size)
        if self.maximum is not None and self.bad_size is not None and not self.minimum <= value <= self.maximum:
            raise self.bad_size(value, self.maximum)
        return value

    def _start(self, token: str | None) -> int:
        """A token is an offset this service handed out: a negative one (which would slice from
        the end) or a non-number is the service's invalid-token error."""
        if not token:
            return 0
        try:
            start = int(token)
        except ValueError:
            raise self.bad_token(token) from None
        if start < 0:
            raise self.bad_token(token)
        return start
