"""Orders planned to run as many ordered pairs of tests back to back as few orders can.

A victim fails when a polluter ran before it and nothing cleaned up in between; the one order
that shows it whatever cleaners the suite has puts the polluter right before the victim. So
the planner covers *back-to-back ordered pairs* (Wei et al., TACAS 2021, "Tuscan squares"),
keeping each module, and each class inside it, contiguous as pytest-randomly does:

- the children of every group (the modules of the suite, the classes and tests of a module)
  follow the rows of a Williams design, a Latin square in which every ordered pair of
  children is adjacent exactly once over the rows: n rows for n children (n + 1 when n is
  odd, with a placeholder child dropped from every row). Any k rows of it run k · (n - 1)
  new pairs, the most k orders can;
- the labelling puts the collected order at row 0, and in a Williams design row r + n/2 is
  row r reversed, so the collected and the reversed runs every plan starts with are two of
  the rows: the planned orders are the others, and M modules need M orders (M + 1 if odd);
- which unused row each order takes is the greedy part. A module's row is chosen for what
  it adds where the module runs: the pair across the boundary with the test before it (and,
  looking through nested classes, which rows can start with a new one); the modules its
  last test newly has after it and its first test before it (a polluter that ends its
  module is past every cleaner beside it, a victim that starts one is before them); and
  the modules it newly has on the same side under a row and under that row's reverse (then
  any single cleaner beside the polluter, or the victim, is on the right side in one of
  them). The module order is chosen among a few unused rows for the best of those sums,
  plus the new (A, B, C) with C outside the stretch from A to B (a cleaner in C then
  cannot hide A's victims in B);
- once a module or class has run every row, every ordered pair inside it has run back to
  back: from then on any of its rows can be taken again, whichever does most for the
  boundaries. The module orders start a new round under a fresh random labelling.

Every choice is deterministic given the collected ids and the plan seed, so CI jobs sharing
``--plan-seed`` plan the same orders. The planner keeps the pairs it has covered (at most one
per adjacent position of each order) and bit sets of modules per test, never all pairs, so
10,000 tests plan in about a second.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from isoscan.seeds.grouping import Group, build_tree

PLACEHOLDER = -1  # the extra child of an odd-sized design, dropped from every row
# Module orders weighed per planned order, each at O(tests): 8 up to 2,000 tests, fewer above,
# 1 (the next in the round's shuffled order) past 8,000, so planning stays near a second.
MODULE_ORDER_CHOICES = 8
WEIGHING_BUDGET = 16_000
APART_MODULES = 40  # (A, B, C) module triples are tracked up to this many modules (M³ bits)


def williams_sequence(size: int) -> list[int]:
    """0, 1, n-1, 2, n-2, …: its successive differences are all distinct mod n (n even), so
    its n shifts are rows in which every ordered pair of symbols is adjacent exactly once."""
    sequence = [0]
    low, high = 1, size - 1
    while len(sequence) < size:
        sequence.append(low)
        low += 1
        if len(sequence) < size:
            sequence.append(high)
            high -= 1
    return sequence


class Design:
    """The rows one group's children are run in. ``relabel``: after the first round, a new
    round of rows under a fresh labelling (the module orders); otherwise every row stays
    available (a module's or a class's children)."""

    def __init__(self, children: int, rng: random.Random, relabel: bool = False) -> None:
        self.children = children
        self.relabel = relabel
        self.size = children + children % 2
        self.sequence = williams_sequence(self.size)
        self.rng = rng
        # Round 0: row 0 is the collected order, row size/2 the reversed one.
        self.label = [PLACEHOLDER] * self.size
        for position in range(children):
            self.label[self.sequence[position]] = position
        used = {0, self.size // 2}
        self.unused = [r for r in range(self.size) if r not in used]
        self.rng.shuffle(self.unused)
        # Where this round's rows ran (modules before, after), and the modules that ran
        # after (before) this group under both a row and its reverse: a polluter there came
        # after any single cleaner beside it in one of the two (a victim before).
        self.ran: dict[int, tuple[int, int]] = {}
        self.both_before = 0
        self.both_after = 0
        self.free = False

    def candidates(self) -> list[int]:
        if not self.unused:
            self.unused = list(range(self.size))
            self.rng.shuffle(self.unused)
            if self.relabel:
                self.label = ([*range(self.children)]
                              + [PLACEHOLDER] * (self.size - self.children))
                self.rng.shuffle(self.label)
                self.ran = {}
            else:
                # Every ordered pair of children has run back to back: from now on every
                # row stays available, so any child can start or end the group in any order.
                self.free = True
        return self.unused

    def reverse(self, row: int) -> int:
        """Row r + n/2 is row r backwards (the placeholder aside)."""
        return (row + self.size // 2) % self.size

    def completion(self, row: int, before: int, after: int) -> int:
        """Modules that running this row with these modules before and after it would add to
        those seen on both sides of a row and its reverse."""
        ran = self.ran.get(self.reverse(row))
        if ran is None:
            return 0
        return ((before & ran[0] & ~self.both_before).bit_count()
                + (after & ran[1] & ~self.both_after).bit_count())

    def record(self, row: int, before: int, after: int) -> None:
        """This row ran with these modules before and after the group (a row taken again
        after the first round adds to what it had)."""
        earlier = self.ran.get(row, (0, 0))
        before, after = before | earlier[0], after | earlier[1]
        self.ran[row] = (before, after)
        reverse = self.ran.get(self.reverse(row))
        if reverse is not None:
            self.both_before |= before & reverse[0]
            self.both_after |= after & reverse[1]

    def first(self, row: int) -> int:
        """The child a row starts with (its first symbol, or the second after a placeholder)."""
        child = self.label[(self.sequence[0] + row) % self.size]
        return child if child != PLACEHOLDER else self.label[(self.sequence[1] + row) % self.size]

    def last(self, row: int) -> int:
        child = self.label[(self.sequence[-1] + row) % self.size]
        return child if child != PLACEHOLDER else self.label[(self.sequence[-2] + row) % self.size]

    def peek(self, row: int) -> list[int]:
        shifted = (self.label[(symbol + row) % self.size] for symbol in self.sequence)
        return [child for child in shifted if child != PLACEHOLDER]

    def row(self, row: int) -> list[int]:
        """The children in this row's order; in the first round, the row is used up."""
        if self.free:
            self.rng.shuffle(self.unused)  # ties go another way next time
        else:
            self.unused.remove(row)
        return self.peek(row)


@dataclass(frozen=True)
class Place:
    """Where a group's rows are being chosen: the modules before and after the module it is
    in (bit sets), and whether its first (last) test will start (end) that module."""

    before: int = 0
    after: int = 0
    starts: bool = False
    ends: bool = False

    def inner(self, position: int, children: int) -> Place:
        return Place(self.before, self.after, self.starts and position == 0,
                     self.ends and position == children - 1)


class Planner:
    def __init__(self, collected: Sequence[str], plan_seed: int) -> None:
        self.count = len(collected)
        self.root = build_tree(collected)
        self.modules = self.root.children
        self.module_of = [0] * self.count
        for m, module in enumerate(self.modules):
            for test in _leaves(module):
                self.module_of[test] = m
        self.everything = (1 << len(self.modules)) - 1
        # A string seed hashes the same in every process (str hashing is salted, this is not).
        self.rng = random.Random(f"isoscan-plan:{plan_seed}")
        self.designs: dict[int, Design] = {}
        self.covered: set[int] = set()
        # Per test, the modules that ran after its module while it ended it ("tail"), and
        # before its module while it started it ("head"), as bit sets: a polluter that ends
        # its module is past every cleaner beside it, a victim that starts its module is
        # before every cleaner beside it.
        self.tail = [0] * self.count
        self.head = [0] * self.count
        # The same for the classes inside modules (by id of their group): a polluter's class
        # that ends its module takes its leftovers past every class beside it.
        self.group_tail: dict[int, int] = {}
        self.group_head: dict[int, int] = {}
        self.classes_of: list[list[Group]] = [[] for _ in range(self.count)]
        for module in self.modules:
            _index_classes(module, [], self.classes_of)
        # Per test, the nodes that ran right after its class while it ended that class (by
        # id): a test last in its class is past every classmate that would clean up after it.
        self.ended: list[set[int]] = [set() for _ in range(self.count)]
        # Per module pair (A, B), the modules seen outside the stretch from A to B, as bits.
        self.apart = [0] * (len(self.modules) ** 2 if len(self.modules) <= APART_MODULES else 0)
        straight = list(range(self.count))
        for order in (straight, straight[::-1]):
            self._cover(order)
            self._reach(order)
        modules = list(range(len(self.modules)))
        self._apart(modules, record=True)
        self._apart(modules[::-1], record=True)

    def next_order(self) -> list[int]:
        order: list[int] = []
        if len(self.modules) == 1:
            self._emit(self.modules[0], order, Place(starts=True, ends=True))
        else:
            design = self._design(self.root)
            # Which module order: the one whose modules' ends can newly reach the most
            # modules; a few candidates suffice, every row being as good for module pairs.
            choices = max(1, min(MODULE_ORDER_CHOICES, WEIGHING_BUDGET // self.count))
            rows = design.candidates()[:choices]
            best = rows[0] if len(rows) == 1 else max(rows, key=self._module_row_gain)
            sequence = design.row(best)
            self._apart(sequence, record=True)
            for m, place in self._places(sequence):
                self._emit(self.modules[m], order, place)
        self._cover(order)
        self._reach(order)
        return order

    def _apart(self, sequence: list[int], record: bool) -> int:
        """New (A, B, C): module A runs before module B and C is not between them, so a
        cleaner in C cannot hide A's victims in B. Counted (and kept, M³ bits) only up to
        APART_MODULES modules; above, 0."""
        size = len(self.modules)
        if size > APART_MODULES:
            return 0
        gain = 0
        for i, a in enumerate(sequence):
            outside = self.everything & ~(1 << a)
            for b in sequence[i + 1 :]:
                outside &= ~(1 << b)
                new = outside & ~self.apart[a * size + b]
                if new:
                    gain += new.bit_count()
                    if record:
                        self.apart[a * size + b] |= new
        return gain

    def _places(self, sequence: list[int]) -> list[tuple[int, Place]]:
        after = self.everything
        before = 0
        places = []
        for m in sequence:
            after &= ~(1 << m)
            places.append((m, Place(before, after, True, True)))
            before |= 1 << m
        return places

    def _module_row_gain(self, row: int) -> int:
        design = self._design(self.root)
        sequence = design.peek(row)
        total = self._apart(sequence, record=False)
        for m, place in self._places(sequence):
            node = _through(self.modules[m])
            if not isinstance(node, Group):
                total += self._reach_gain(node, node, place)
                continue
            inner = self._design(node)
            total += max(self._reach_gain(node.children[inner.first(r)],
                                          node.children[inner.last(r)], place)
                         + inner.completion(r, place.before, place.after)
                         for r in inner.candidates())
        return total

    def _emit(self, node: Group | int, order: list[int], place: Place,
              following: Group | int | None = None) -> None:
        """``following``: what runs right after this group inside its module (None: it
        ends the module)."""
        node = _through(node)
        if not isinstance(node, Group):
            order.append(node)
            return
        children = node.children
        design = self._design(node)
        before = order[-1] if order else None
        whole = place.starts and place.ends  # this group is the whole module
        best = max(design.candidates(),
                   key=lambda r: self._score(design, r, children, before, place, whole,
                                             following))
        sequence = design.row(best)
        if whole:
            design.record(best, place.before, place.after)
        for position, child in enumerate(sequence):
            after = _through(children[sequence[position + 1]]) \
                if position + 1 < len(sequence) else following
            self._emit(children[child], order, place.inner(position, len(sequence)), after)
        if not whole:
            self.ended[order[-1]].add(_key(following))

    def _score(self, design: Design, row: int, children: list[Group | int], before: int | None,
               place: Place, whole: bool,
               following: Group | int | None = None) -> tuple[int, int]:
        """What a row of a group starting with ``first`` and ending with ``last`` adds: the
        pair across the boundary with the test before it, plus the modules its first and last
        test newly have before and after them; on a tie, the row whose end tests have the
        least left to reach, so a test that still needs a good place is kept for one."""
        first, last = children[design.first(row)], children[design.last(row)]
        gain = 0 if before is None else self._boundary_gain(before, first)
        gain += self._reach_gain(first, last, place)
        if whole:
            gain += design.completion(row, place.before, place.after)
        # On a tie, a class row whose last test has not yet ended it right before what
        # follows the class (as a gain it costs the pairs more than it finds: benchmark).
        tie = 0 if whole else self._class_end_new(last, following)
        left = 0
        if place.starts:
            left += (self._others_of(first) & ~self._head(first)).bit_count()
        if place.ends:
            left += (self._others_of(last) & ~self._tail(last)).bit_count()
        return gain, tie - left

    def _class_end_new(self, last: Group | int, following: Group | int | None) -> int:
        """1 if the test a class's row ends with has not yet ended the class right before
        ``following`` (a polluter there is past every classmate that cleans up after it)."""
        last = _through(last)
        return int(not isinstance(last, Group) and _key(following) not in self.ended[last])

    def _reach_gain(self, first: Group | int, last: Group | int, place: Place) -> int:
        gain = 0
        if place.starts:
            gain += (place.before & ~self._head(first)).bit_count()
        if place.ends:
            gain += (place.after & ~self._tail(last)).bit_count()
        return gain

    def _head(self, node: Group | int) -> int:
        node = _through(node)
        return self.group_head.get(id(node), 0) if isinstance(node, Group) else self.head[node]

    def _tail(self, node: Group | int) -> int:
        node = _through(node)
        return self.group_tail.get(id(node), 0) if isinstance(node, Group) else self.tail[node]

    def _others_of(self, node: Group | int) -> int:
        node = _through(node)
        while isinstance(node, Group):
            node = node.children[0]
        return self.everything & ~(1 << self.module_of[node])

    def _boundary_gain(self, before: int, node: Group | int) -> int:
        """1 if some row of ``node`` can start with a test not yet run right after ``before``."""
        node = _through(node)
        if not isinstance(node, Group):
            return int(before * self.count + node not in self.covered)
        design = self._design(node)
        return max(self._boundary_gain(before, node.children[design.first(r)])
                   for r in design.candidates())

    def _cover(self, order: Sequence[int]) -> None:
        self.covered.update(a * self.count + b for a, b in pairwise(order))

    def _reach(self, order: Sequence[int]) -> None:
        """Records, for the tests starting and ending each module, the modules run before and
        after it."""
        spans: list[tuple[int, int, int]] = []  # (module, first test, last test)
        for test in order:
            if spans and spans[-1][0] == self.module_of[test]:
                spans[-1] = (spans[-1][0], spans[-1][1], test)
            else:
                spans.append((self.module_of[test], test, test))
        after = self.everything
        before = 0
        for m, first, last in spans:
            after &= ~(1 << m)
            self.head[first] |= before
            self.tail[last] |= after
            # The classes around a test that starts (ends) its module start (end) it too.
            for group in self.classes_of[first]:
                self.group_head[id(group)] = self.group_head.get(id(group), 0) | before
            for group in self.classes_of[last]:
                self.group_tail[id(group)] = self.group_tail.get(id(group), 0) | after
            before |= 1 << m

    def _design(self, group: Group) -> Design:
        design = self.designs.get(id(group))
        if design is None:
            design = self.designs[id(group)] = Design(len(group.children), self.rng,
                                                      relabel=group is self.root)
        return design


def _through(node: Group | int) -> Group | int:
    """A group of one child runs as that child."""
    while isinstance(node, Group) and len(node.children) == 1:
        node = node.children[0]
    return node


def _key(node: Group | int | None) -> int:
    """What follows a class, as one int: a test's index, a group's id (never a valid index
    as it is far larger), -1 for the end of the module."""
    if node is None:
        return -1
    return id(node) if isinstance(node, Group) else node


def _index_classes(node: Group | int, above: list[Group], classes_of: list[list[Group]]) -> None:
    """For every test, the classes (groups below its module) it is inside."""
    if not isinstance(node, Group):
        classes_of[node] = above
        return
    for child in node.children:
        _index_classes(child, [*above, node] if _is_class(node) else above, classes_of)


def _is_class(group: Group) -> bool:
    return len(group.key) > 1


def _leaves(node: Group | int) -> list[int]:
    if not isinstance(node, Group):
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def plan_orders(collected: Sequence[str], count: int, plan_seed: int) -> list[list[str]]:
    """``count`` orders of the collected ids, to run after the collected and the reversed one."""
    planner = Planner(collected, plan_seed)
    return [[collected[i] for i in planner.next_order()] for _ in range(count)]
