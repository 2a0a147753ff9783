"""Test models decoded from one drawn integer.

`make test` runs every property 2,000 times, and Hypothesis spends tens of microseconds on
each draw: a document drawn piece by piece costs more than the code under test. So a
model is decoded from one big integer instead. Zero decodes to the smallest model and
every choice is a remainder, so Hypothesis, shrinking that one number, still shrinks the
model towards a small one, and a failing example prints the decoded model itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Choices:
    """A stream of choices read from `number`, least significant first."""

    def __init__(self, number: int) -> None:
        self.number = number

    def below(self, bound: int) -> int:
        """A choice in `range(bound)`; 0 once the number is used up."""
        self.number, value = divmod(self.number, bound)
        return value

    def flag(self) -> bool:
        return self.below(2) == 1

    def pick(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def count(self, most: int) -> int:
        return self.below(most + 1)

    def some(self, options: Sequence[T], most: int) -> list[T]:
        return [self.pick(options) for _ in range(self.count(most))]

    def subset(self, options: Sequence[T], most: int) -> list[T]:
        """Up to `most` distinct options, in the order chosen."""
        pool = list(options)
        return [pool.pop(self.below(len(pool))) for _ in range(min(self.count(most), len(pool)))]


def decoded(decode: Callable[[Choices], T]) -> st.SearchStrategy[T]:
    """A strategy for models that `decode` reads from one drawn integer (through `just`,
    so that a failing example prints the model, not the integer)."""
    return st.integers(min_value=0, max_value=2**1024).flatmap(
        lambda number: st.just(decode(Choices(number)))
    )


# Pieces that, glued together at random, make every kind of broken and tricky HTML.
SOUP_PIECES = [
    "<", ">", "/", "=", '"', "'", " ", "\n", "!", "?", "-", "&", ";", "a", "é", "\x00", "\r",
    "\u00a0", "\x0b", "<p>", "</p>", "<h1>", "<h2>", "</h2>", "<h3 class=x>", "</h3>", "Goal",
    "Plan", "Acceptance criteria", "Notes", "<div>", "</div>", "<ul>", "</ul>", "<li>", "</li>",
    "<br>", "<br/>", "<!--", "-->", "<!DOCTYPE html>", "<script>", "</script>", "<pre>",
    "</pre>", '<a href="', "&amp;", "&nbsp;", "&#x27;", '<ul data-type="taskList">',
    '<li data-type="taskItem">', 'data-id="x1"', 'data-checked="true"',
    "<input type=checkbox checked>", "</", "<textarea>", "</textarea>", "<?x", "</ >",
    "<blockquote>", "</blockquote>", "<table><tr><td>", "<h2 title='a>b'>",
]  # fmt: skip

SOUP = decoded(lambda c: "".join(c.some(SOUP_PIECES, 30)))
