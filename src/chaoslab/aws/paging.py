"""One paginator for every List/Describe call that pages.

A token is the offset of the next item, handed out by the service and only ever passed back by
callers (they must treat it as opaque, as AWS's own tokens are). What differs between services
is only naming and wording, so each service describes its paging once with a `Paginator`: the
member that carries the token (`NextToken`, `nextToken`, IAM's `Marker`), the one that carries
the page size (`MaxResults`, `MaxRecords`, `maxResults`, `limit`, `MaxItems`), the default and
largest page, and its own errors for a bad token or size, which the wire layer then shapes for
the service's protocol like any other `AwsError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from chaoslab.errors import AwsError

T = TypeVar("T")


@dataclass(frozen=True)
class Paginator:
    """How one service pages. `maximum` bounds a page size the caller gives (1..maximum) and
    `bad_size(size, maximum)` is the error for one outside it; without them the model's range,
    which the gateway checks before any handler runs, is the only bound. `truncated` names the
    member that says whether more items follow (IAM's `IsTruncated`)."""

    token: str
    size: str | None
    default: int
    bad_token: Callable[[str], AwsError]
    maximum: int | None = None
    bad_size: Callable[[int, int], AwsError] | None = None
    truncated: str | None = None

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
        members: dict[str, Any] = {} if token is None else {self.token: token}
        if self.truncated:
            members[self.truncated] = token is not None
        return chunk, members

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
        if self.maximum is not None and self.bad_size is not None and not 1 <= value <= self.maximum:
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
