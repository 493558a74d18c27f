"""Exact inference: ``P`` and ``E`` by variable elimination over exact fields.

How a query is answered:

1. Only the ancestors of the query's variables matter (barren nodes are pruned). Over
   rational probabilities the pruning also sees through tables: a parent along which a
   table is constant is cut from it (and an observation may leave a table constant
   along its other parents), and a normalised answer skips the parts of the network
   the observations cut off from the query, after checking exactly that they are
   possible.
2. The numbers live in one exact domain chosen for the relevant probabilities: ``QQ``
   (GMP rationals when gmpy2 is installed) when they are all rational, else SymPy's
   ``construct_domain`` picks a rational-function field such as ``QQ(p, gamma)`` (or the
   generic ``EX`` domain for algebraic numbers). Generic ``Expr`` arithmetic never runs in
   the inner loop; values become SymPy expressions once, at the end.
3. Factors are NumPy object arrays of domain elements, so products and sums broadcast in C
   while each element operation stays exact. Symbolic factors hold polynomials: FLINT's
   when python-flint is installed, SymPy's otherwise (:mod:`cpspec.inference.polynomials`).
4. Variables are eliminated in a greedy min-weight order on the interaction graph; the
   widest factor is estimated before any work and the query is refused when it is above
   ``max_factor``.
5. ``E`` is linear: ``E(X + Y)`` is answered as ``E(X) + E(Y)``, so sums over many time
   steps never build the joint of all their terms, and expectations may mix worlds
   (``E(S_c) - E(S_f)``) although the worlds have no joint distribution.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from gmpy2 import gcd, mpz
import sympy
from sympy.polys.constructor import construct_domain
from sympy.polys.domains import EX, QQ
from sympy.polys.polyerrors import CoercionFailed

from ..core.diagram import Diagram, make_node
from ..errors import ConditioningError, FactorTooLargeError, QueryError
from ..core.expressions import Const, Expr, Op, RV
from ..core.functions import as_sympy, fn, number_to_sympy
from ..progress import progress
from .polynomials import BACKENDS, PolynomialRing, field_to_sympy, polynomial_ring

__all__ = ["joint_weights", "numeric_value", "check_query", "world_of", "split_evidence", "P", "E",
           "distribution", "marginal", "elimination_order", "through_partial_sums",
           "MAX_FACTOR_SIZE", "MIN_PARTIAL_SUM"]

#: Default bound on the number of entries of any factor built during elimination.
MAX_FACTOR_SIZE = 2_000_000


# ---- exact domains -------------------------------------------------------------------

def _field(diagram: Diagram, names: frozenset[str]):
    """The exact domain for the probabilities of ``names`` (kept with the diagram)."""
    return diagram.memo(("field", names), lambda: _make_field(diagram, names))


def _make_field(diagram: Diagram, names: frozenset[str]):
    probs = []
    symbolic = False
    for n in names:
        for row in diagram.table(n).rows or ():
            for p in row.values():
                probs.append(p)
                symbolic = symbolic or not isinstance(p, Fraction)
    if not symbolic:
        return QQ
    uniq = list({as_sympy(p) for p in probs})
    K = construct_domain(uniq, field=True)[0] if uniq else QQ
    try:  # e.g. sqrt(p) and p together: the field in sqrt(p) cannot hold p
        for u in uniq:
            K.from_sympy(u)
    except (CoercionFailed, ValueError, TypeError, NotImplementedError):
        K = EX
    return K


def _to_field(K, p):
    if K is QQ and isinstance(p, Fraction):
        return QQ(p.numerator, p.denominator)
    return K.from_sympy(as_sympy(p))


def _node_factor(diagram: Diagram, name: str, R: PolynomialRing):
    """The node's conditional table as ``(scope, numerators, denominator)`` in the ring
    ``R`` (:func:`~cpspec.inference.polynomials.polynomial_ring`).

    Entries are scaled by the least common denominator, so elimination multiplies and
    adds ring elements (polynomials, in FLINT or SymPy), which is several times faster
    than field arithmetic: no gcd is taken per operation. The denominators are scalars
    and are divided out once, at the end of the elimination.
    """
    return diagram.memo(("factor", name, R.field, R.name),
                        lambda: _make_factor(diagram, name, R))


def _make_factor(diagram: Diagram, name: str, R: PolynomialRing | None = None):
    t = diagram.table(name)
    if t.rows is None:
        raise QueryError(
            f"world {diagram.name!r}: node {name!r} is a decision node and has no "
            "distribution; solve the diagram (cp.solve) or replace the node by a policy "
            f"(replace(..., {name}=cp.fn(policy)))")
    shape = tuple(len(diagram.domain(p)) for p in t.parents) + (len(t.domain),)
    index = {v: i for i, v in enumerate(t.domain)}
    K = R.field
    split: dict = {}  # tables repeat few values (p, 1 - p): convert each once
    entries = []
    for k, row in enumerate(t.rows):
        for v, p in row.items():
            if p not in split:
                split[p] = R.split(_to_field(K, p))
            entries.append((k, index[v], split[p]))
    arr = np.empty(shape, dtype=object)
    arr.fill(R.zero)  # not np.full: NumPy would read a FLINT polynomial as a sequence
    flat = arr.reshape(-1, len(t.domain))
    den = R.one
    for _, _, (_, d) in entries:
        den = R.lcm(den, d)
    for k, j, (x, d) in entries:
        flat[k, j] = x * R.exquo(den, d)
    return (t.parents + (name,), arr, den)


# ---- elimination ---------------------------------------------------------------------

def _greedy_order(nbrs: dict[str, set[str]], card: dict[str, int], eliminate: set[str],
                  heuristic: str) -> tuple[list[str], int, int, tuple[str, ...]]:
    """One greedy elimination order: ``(order, cost, widest, scope)``.

    ``cost`` is the number of products the elimination multiplies (the sum, over the
    steps, of the size of the eliminated variable's clique), ``widest`` the size of the
    largest factor it stores (a clique without its eliminated variable: the clique
    itself is summed on the fly, never stored) and ``scope`` that factor's variables.
    Scores are kept per variable and recomputed only around the eliminated one.
    """
    nbrs = {v: set(ns) for v, ns in nbrs.items()}

    def score(v):
        ns = nbrs[v]
        w = 1
        for u in ns:
            w *= card[u]
        if heuristic == "weight":
            return w * card[v], v
        fill = 0
        for u in ns:
            nu = nbrs[u]
            for x in ns:
                if x is not u and x not in nu:
                    fill += card[u] * card[x] if heuristic == "weighted-fill" else 1
        return fill, w * card[v], v

    scores = {v: score(v) for v in eliminate}
    order: list[str] = []
    cost, widest, widest_scope = 0, 1, ()
    while scores:
        best = min(scores.values())[-1]
        del scores[best]
        ns = nbrs.pop(best)
        out = 1
        for u in ns:
            out *= card[u]
        cost += out * card[best]
        if out > widest:
            widest, widest_scope = out, tuple(sorted(ns))
        order.append(best)
        touched = set(ns)
        for u in ns:
            nbrs[u].discard(best)
            nbrs[u].update(ns - {u})
        if heuristic != "weight":  # fill-in changes two steps away
            for u in ns:
                touched |= nbrs[u]
        for u in touched:
            if u in scores:
                scores[u] = score(u)
    return order, cost, widest, widest_scope


def elimination_order(scopes: list[tuple[str, ...]], card: dict[str, int],
                      eliminate: set[str]) -> tuple[list[str], int, tuple[str, ...]]:
    """A greedy elimination order that weighs the variables' cardinalities.

    Three greedy heuristics are run on the interaction graph: min-fill (fewest new arcs),
    weighted min-fill (new arcs weighted by the product of their ends' domain sizes, as
    pgmpy's ``WeightedMinFill``) and min-weight (smallest clique, counted in entries);
    ties are broken by clique size, then by name. The order that multiplies the fewest
    entries in all wins, among those whose widest stored factor is smallest up to a
    factor of 4 (a marginally narrower order that costs far more time is not preferred).
    On networks with few values per node the three agree; on high-cardinality ones
    (mildew, barley) plain min-fill builds factors hundreds of times larger.

    Returns the order, the number of entries of the widest factor it stores (a clique
    without its eliminated variable, which is summed out while the clique is formed),
    and that factor's scope.

    Examples
    --------
    >>> order, widest, scope = elimination_order(
    ...     [("A",), ("A", "B"), ("B", "C")], {"A": 2, "B": 3, "C": 4}, {"A", "B"})
    >>> order, widest, scope
    (['A', 'B'], 4, ('C',))
    """
    nbrs: dict[str, set[str]] = {}
    for scope in scopes:
        for v in scope:
            nbrs.setdefault(v, set()).update(scope)
    for v in nbrs:
        nbrs[v].discard(v)
    runs = [_greedy_order(nbrs, card, set(eliminate), h)
            for h in ("fill", "weighted-fill", "weight")]
    narrowest = min(r[2] for r in runs)
    order, _, widest, scope = min((r for r in runs if r[2] <= 4 * narrowest),
                                  key=lambda r: (r[1], r[2]))
    return order, widest, scope


def _array(x) -> np.ndarray:
    """Summing a 1-d object array gives a bare element: wrap it as a 0-d array again
    (``np.asarray`` would try to iterate a polynomial, which is a dict)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):  # an int64 sum
        return np.asarray(x)
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def _contract(factors: list[tuple[tuple[str, ...], np.ndarray]], keep) -> tuple:
    """The product of ``factors`` summed over every variable not in ``keep``, in one
    ``np.einsum`` pass: the product itself is never stored, only the result (its
    variables in order of first appearance). Works on int64 arrays and on object arrays
    of any exact ring's elements."""
    labels: dict[str, int] = {}
    operands: list = []
    for vs, arr in factors:
        operands += [arr, [labels.setdefault(v, len(labels)) for v in vs]]
    out = tuple(v for v in labels if v in keep)
    if len(labels) > 52:  # einsum's label alphabet; only for factors of >52 variables
        return _contract_wide(factors, out)
    return out, _array(np.einsum(*operands, [labels[v] for v in out]))


def _matmul_contract(factors, keep):
    """:func:`_contract` of two factors as one batched ``np.matmul``, as
    ``np.tensordot`` does it: the variables both share and keep are the batch, the
    ones they share and sum the inner dimension, each one's own variables its rows or
    columns. On object arrays NumPy's matmul loop costs less per product than einsum's
    (on bnlearn's mildew and link, 10 to 25 percent less). The result's variables come in
    :func:`_contract`'s order. None when a variable of one factor only is summed, or an
    axis is empty (then :func:`_contract` does it)."""
    (va, a), (vb, b) = factors
    a, b = _array(a), _array(b)  # GMP's conversion makes a 0-d array a bare integer
    if 0 in a.shape or 0 in b.shape:
        return None
    batch = [v for v in va if v in vb and v in keep]
    inner = [v for v in va if v in vb and v not in keep]
    rows = [v for v in va if v not in vb]
    cols = [v for v in vb if v not in va]
    if not all(v in keep for v in rows + cols):
        return None
    size = dict(zip(va, a.shape))
    size.update(zip(vb, b.shape))
    n = [math.prod(size[v] for v in part) for part in (batch, rows, inner, cols)]
    a = a.transpose([va.index(v) for v in batch + rows + inner]).reshape(n[0], n[1], n[2])
    b = b.transpose([vb.index(v) for v in batch + inner + cols]).reshape(n[0], n[2], n[3])
    got = tuple(batch + rows + cols)
    out = tuple(v for v in dict.fromkeys(va + vb) if v in keep)
    c = np.matmul(a, b).reshape([size[v] for v in got])
    return out, _array(c.transpose([got.index(v) for v in out]))


def _contract_wide(factors, out):
    allvars: list[str] = []
    for vs, _ in factors:
        allvars += [v for v in vs if v not in allvars]
    pos = {v: i for i, v in enumerate(allvars)}
    result = None
    for vs, arr in factors:
        a = arr.transpose(sorted(range(len(vs)), key=lambda i: pos[vs[i]]))
        shape = [1] * len(allvars)
        for v, n in zip(vs, arr.shape):
            shape[pos[v]] = n
        a = a.reshape(shape)
        result = a if result is None else _array(result * a)
    gone = tuple(i for i, v in enumerate(allvars) if v not in out)
    result = _array(result.sum(axis=gone)) if gone else result
    rest = [v for v in allvars if v in out]
    return out, _array(result.transpose([rest.index(v) for v in out]))


# ---- exact rational elimination ------------------------------------------------------
#
# Over QQ a factor is ``(scope, integers, den, top)``: its values are ``integers / den``
# with one common denominator per factor, and ``top`` bounds its largest integer. The
# integers are NumPy int64 while a product-sum provably stays below 2**63 (``top`` of the
# operands times the number of summed terms), else Python integers in an object array.
# A denominator is divided out by the gcd of the factor's integers (a node's table once,
# in its memo; other int64 factors when a bound would overflow; object ones once their
# bound passes _REDUCE_BITS), so that a variable that sums to 1 does not leave its
# table's denominator in everything that follows, and a factor whose integers shrink
# back below 2**63 returns to int64. A product of object factors over a large clique
# that is mostly zeros multiplies only its non-zero products (:func:`_sparse_contract`).

_INT64_BOUND = 2**63 - 1
_REDUCE_BITS = 160  # below this, integers are cheaper to multiply than to reduce
_GMP_BITS = 1000  # above this, GMP's multiplication beats Python's
_TO_MPZ = np.frompyfunc(mpz, 1, 1)
#: A product's integers are divided by their gcd with its denominator only when the gcd
#: over this many of them ...
_REDUCE_SAMPLE = 32
#: ... has at least 1/_REDUCE_SHARE of their bits (see :func:`_reduce`)
_REDUCE_SHARE = 8


def _rational_factor(diagram: Diagram, name: str):
    """The node's table over QQ as ``(scope, integers, den, top)`` (kept with the
    diagram), already divided by the gcd of its integers and denominator, with ``top``
    its largest integer."""
    return diagram.memo(("int-factor", name), lambda: _make_rational_factor(diagram, name))


def _make_rational_factor(diagram: Diagram, name: str):
    t = diagram.table(name)
    if t.rows is None:
        _make_factor(diagram, name)  # raises: a decision node has no distribution
    shape = tuple(len(diagram.domain(p)) for p in t.parents) + (len(t.domain),)
    den = 1
    for row in t.rows:
        for p in row.values():
            den = math.lcm(den, p.denominator)
    index = {v: i for i, v in enumerate(t.domain)}
    arr = np.zeros(shape, dtype=np.int64 if den <= _INT64_BOUND else object)
    flat = arr.reshape(-1, len(t.domain))
    for k, row in enumerate(t.rows):
        for v, p in row.items():
            flat[k, index[v]] = p.numerator * (den // p.denominator)
    arr.setflags(write=False)  # shared through the memo
    f = _reduce(_drop_constant_axes((t.parents + (name,), arr, den, den), {name}))
    f[1].setflags(write=False)
    return f


def _drop_constant_axes(f, keep):
    """``f`` without the axes, other than those of ``keep``, along which its integers do
    not change: a table whose rows are equal for every value of a parent does not depend
    on that parent (bnlearn files hold such tables), and an observation can leave a
    factor constant along its other variables. The factor then no longer ties those
    variables to the rest, which prunes them (see :func:`_prune`) or cuts the network
    into independent parts."""
    vs, arr = f[:2]
    for v in [v for v in vs if v not in keep]:
        i = vs.index(v)
        first = arr.take([0], axis=i) if arr.shape[i] else None
        if first is None or not (arr == first).all():
            continue
        vs, arr = vs[:i] + vs[i + 1:], _array(arr.take(0, axis=i))
    if arr is not f[1] and arr.flags.writeable:
        arr.setflags(write=False)
    return (vs, arr) + tuple(f[2:])


def _prune(owned: list, keep) -> list:
    """The ``(owner, factor)`` pairs that matter for the variables ``keep``: a factor
    whose own node is not kept and appears in no other factor sums to 1 over that node
    (its rows are distributions) and is dropped, repeatedly, so that what remains is the
    part of the network above the queried and observed nodes once the parents a table
    ignores are cut."""
    while True:
        count: dict[str, int] = {}
        for _, f in owned:
            for v in f[0]:
                count[v] = count.get(v, 0) + 1
        kept = [(o, f) for o, f in owned
                if o in keep or o not in f[0] or count[o] > 1]
        if len(kept) == len(owned):
            return owned
        owned = kept


def _components(scopes: list[tuple[str, ...]]) -> list[int]:
    """A component label per scope: scopes that share a variable (directly or through
    others) share a label; an empty scope is a component of its own."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k, vs in enumerate(scopes):
        for v in vs:
            a, b = find(("v", v)), find(("f", k))
            parent[a] = b
    return [find(("f", k)) for k in range(len(scopes))]


def _split_off(factors: list, names, diagram: Diagram | None = None) -> tuple[list, list]:
    """``(factors connected to names, the others)``: the others multiply the result by
    one constant. Which factors are connected depends on their scopes only: with
    ``diagram`` it is kept there, per tuple of scopes."""
    scopes = tuple(f[0] for f in factors)
    if diagram is None:
        near = _connected(scopes, names)
    else:
        near = diagram.memo(("connected", tuple(names), scopes),
                            lambda: _connected(scopes, names))
    if near is None:
        return factors, []
    return ([f for f, k in zip(factors, near) if k],
            [f for f, k in zip(factors, near) if not k])


def _connected(scopes: tuple, names):
    """Per scope, whether it is connected to ``names`` (None when none is)."""
    labels = _components(list(scopes))
    wanted = {c for vs, c in zip(scopes, labels) if set(vs) & set(names)}
    return [c in wanted for c in labels] if wanted else None


def _positive(factors: list, order: list[str], card: dict[str, int]) -> bool:
    """Whether the product of ``factors`` summed over all their variables is positive,
    decided exactly in the Boolean semiring: the factors become 0/1 int64 tables and each
    elimination step clips its sums to 1, so no number grows."""
    boolean = [(f[0], (f[1] != 0).astype(np.int64)) for f in factors]
    mentioned = {v for f in boolean for v in f[0]}
    for v in order:
        if v not in mentioned:
            continue
        touching = [f for f in boolean if v in f[0]]
        boolean = [f for f in boolean if v not in f[0]]
        keep = {u for f in touching for u in f[0]} - {v}
        vs, arr = _contract(touching, keep)
        boolean.append((vs, np.minimum(arr, 1)))
    return all(bool(f[1].all()) for f in boolean)


def _reduce(f, sampled: bool = False):
    """``f`` with its integers and denominator divided by their gcd; int64 again when
    the integers fit. On Python integers the gcd stops at the first entry that makes it
    1 (the usual case), and ``top`` stays the bound it was (a pass to find the exact
    maximum would cost as much as the gcd).

    With ``sampled``, Python integers are first divided only if the gcd of the
    denominator with :data:`_REDUCE_SAMPLE` entries spread over the array (a multiple of
    the whole gcd) has at least ``1 / _REDUCE_SHARE`` of ``top``'s bits: else ``f`` is
    returned as it is (still exact; a later reduction may divide what is left)."""
    vs, arr, den, top = f
    if arr.size == 0:
        return f
    if arr.dtype == object:
        g = den
        flat = arr.reshape(-1)  # not .flat: it stops at 32 axes
        if sampled and top > _INT64_BOUND:
            g = _gcd_with(g, flat[::max(1, flat.size // _REDUCE_SAMPLE)])
            if g.bit_length() * _REDUCE_SHARE < top.bit_length():
                return f
        if g > 1:
            g = _gcd_with(g, flat)
    else:
        g = math.gcd(int(np.gcd.reduce(arr, axis=None)), den)
    if g > 1:
        arr = _array(arr // g)  # a 0-d array divides to a bare integer
        den //= g
        top //= g
    if arr.dtype != object:
        top = int(arr.max())
    elif top <= _INT64_BOUND:
        arr = arr.astype(np.int64)
    return vs, arr, den, top


def _gcd_with(g, values):
    """The gcd of ``g`` and the non-zero ``values``, stopping at the first that makes it
    1 (the usual case)."""
    for x in values:
        if x:
            g = gcd(g, x)
            if g == 1:
                break
    return g


def _AS_OBJECT(arr):
    """``arr`` as an object array of Python integers (a no-op on one already)."""
    return arr if arr.dtype == object else arr.astype(object)


#: Above this many entries in a clique (the product of one step's factors before the
#: sum), its non-zero products are not listed (:func:`_sparse_contract`)
_SPARSE_CLIQUE = 1 << 20
#: ... nor below this many (the bookkeeping costs more than the products it saves)
_SPARSE_MIN = 4096
#: ... nor when more than this share of the clique's products are non-zero
_SPARSE_SHARE = 0.15


def _sparse_contract(factors: list, keep, convert):
    """:func:`_contract` over Python integers by the clique's non-zero products only.

    ``factors`` are ``(scope, integers, top)``, ``top`` bounding the integers. Conditional
    tables are mostly zeros (bnlearn's pathfinder: 50 to 85 percent), and each product of
    Python integers is a call, so the products whose factors are all non-zero are listed
    first, on Boolean masks, and only those are multiplied: the int64 factors among
    themselves in int64 while the product of their bounds fits, then as Python or GMP
    integers (``convert`` turns gathered entries into those). The clique's axes are
    ordered with the summed variables first and the kept ones by increasing size, the
    masks C-contiguous (NumPy's loops are fastest over a long last axis); the products
    are then sorted by result entry and each entry's are summed by one
    ``np.add.reduceat``. The result's axes come in that order (the scope says which).

    None when the clique has fewer than :data:`_SPARSE_MIN` or more than
    :data:`_SPARSE_CLIQUE` entries, or more than :data:`_SPARSE_SHARE` of its products
    are non-zero (then a dense ``np.einsum`` does the same products with less
    bookkeeping: on mildew, a clique with 17 percent of non-zero products of 300-bit
    integers is summed faster by ``np.einsum``)."""
    size: dict[str, int] = {}
    for vs, arr, _ in factors:
        for v, n in zip(vs, arr.shape):
            size.setdefault(v, n)
    out = tuple(sorted((v for v in size if v in keep), key=size.__getitem__))
    summed = tuple(v for v in size if v not in keep)
    clique = summed + out
    shape = tuple(size[v] for v in clique)
    total = math.prod(shape)
    if (len(factors) < 2 or not _SPARSE_MIN <= total <= _SPARSE_CLIQUE or not total
            or not 0 < len(clique) <= 32):
        return None
    # a product is 0 only where a factor is, so at least 1 - (sum of the factors'
    # shares of zeros) of the clique is non-zero: dense tables are let through at once
    nonzero = [arr != 0 for _, arr, _ in factors]
    if 1 - sum(1 - np.count_nonzero(nz) / nz.size for nz in nonzero) > _SPARSE_SHARE:
        return None
    views = []
    mask = None
    for (vs, arr, top), nz in zip(factors, nonzero):  # as arrays broadcastable over the clique
        axes = [vs.index(v) for v in clique if v in vs]
        shape_in = [size[v] if v in vs else 1 for v in clique]
        a = arr.transpose(axes).reshape(shape_in)
        nz = np.ascontiguousarray(nz.transpose(axes)).reshape(shape_in)
        views.append((a, top))
        mask = nz if mask is None else mask & nz
    flat = np.flatnonzero(mask)
    if flat.size > _SPARSE_SHARE * total:
        return None
    nout = math.prod(shape[len(summed):])
    result = np.zeros(nout, dtype=object)
    if flat.size:
        small, bound, prod = None, 1, None
        for a, top in sorted(views, key=lambda x: x[0].dtype == object):
            vals = np.broadcast_to(a, shape)[mask]  # in the order of flat
            if vals.dtype != object and bound * top <= _INT64_BOUND:
                small = vals if small is None else small * vals
                bound *= top
                continue
            vals = convert(vals)
            prod = vals if prod is None else prod * vals
        if small is not None:
            prod = convert(small) if prod is None else prod * convert(small)
        where = flat % nout
        if summed:  # each result entry's products together, then one sum per entry
            by = np.argsort(where, kind="stable")
            where, prod = where[by], prod[by]
            starts = np.flatnonzero(np.concatenate(([True], where[1:] != where[:-1])))
            where, prod = where[starts], np.add.reduceat(prod, starts)
        result[where] = prod
    return out, _array(result.reshape(shape[len(summed):]))


def _rational_contract(factors: list, keep, terms: int, reduced=frozenset(), done=None):
    """:func:`_contract` for rational factors; ``terms`` is the number of products each
    result entry sums (the product of the summed variables' domain sizes). ``reduced``
    holds the ``id`` of factors known to be reduced already (the nodes' own tables), and
    ``done`` (a set, if given) those of earlier steps' results that were: those are not
    divided by their gcd again. The ``id`` of a result that is reduced joins ``done``."""
    def bound(fs):
        b = terms
        for f in fs:
            b *= f[3]
        return b

    if bound(factors) > _INT64_BOUND:  # object factors were reduced when they were made
        seen = done or ()
        factors = [_reduce(f, True) if id(f) not in reduced and id(f) not in seen and (
            f[1].dtype != object or f[3].bit_length() >= _REDUCE_BITS) else f
            for f in factors]
    den = 1
    for f in factors:
        den *= f[2]
    if bound(factors) <= _INT64_BOUND and all(f[1].dtype != object for f in factors):
        vs, arr = _contract([(f[0], f[1]) for f in factors], keep)
        return vs, arr, den, bound(factors)
    top = bound(factors)
    convert = _TO_MPZ if top.bit_length() > _GMP_BITS else _AS_OBJECT
    if len(factors) == 1 and all(n for n in factors[0][1].shape):
        # one table summed over some axes: NumPy's add.reduce is cheaper than einsum
        vs, arr = factors[0][:2]
        gone = tuple(i for i, v in enumerate(vs) if v not in keep)
        vs = tuple(v for v in vs if v in keep)
        arr = _array(convert(arr).sum(axis=gone)) if gone else _array(convert(arr))
    else:
        found = _sparse_contract([(f[0], f[1], f[3]) for f in factors], keep, convert)
        if found is None:
            operands = [(f[0], convert(f[1])) for f in factors]
            if len(operands) == 2:
                found = _matmul_contract(operands, keep)
            if found is None:
                found = _contract(operands, keep)
        vs, arr = found
    if top.bit_length() < _REDUCE_BITS:  # small integers: a gcd pass costs more than
        return vs, arr, den, top         # it saves
    out = _reduce((vs, arr, den, top), True)
    if out[1] is arr:  # not worth a pass (see _reduce)
        return out
    if done is not None:  # its gcd is now 1: a later step need not look again
        done.add(id(out))
    return out


def _eliminate(factors, order, names, card, rational: bool, reduced=frozenset()):
    """Sum out ``order`` from ``factors``, one variable at a time, and multiply what is
    left into one table over ``names``: ``(table, den)`` (``den`` is 1 unless
    ``rational``). ``reduced``: the ``id`` of rational factors already divided by their
    gcd (see :func:`_rational_contract`), and the steps' reduced results are kept in
    ``done``. A factor stays in ``factors`` until used (and its ``id`` leaves ``done``
    then), so no other factor takes an ``id`` in either."""
    done: set = set()
    for v in progress(order, len(order), "eliminating", min_total=500):
        touching = [f for f in factors if v in f[0]]
        if not touching:  # in a part of the network set aside (see marginal)
            continue
        factors = [f for f in factors if v not in f[0]]
        keep = {u for f in touching for u in f[0]} - {v}
        if rational:
            out = _rational_contract(touching, keep, card[v], reduced, done)
            if done:
                done.difference_update(id(f) for f in touching if f is not out)
            factors.append(out)
        else:
            factors.append(_contract(touching, keep))
    if rational:
        vs, arr, den, _ = _rational_contract(factors, set(names), 1, reduced, done)
    else:
        (vs, arr), den = _contract(factors, set(names)), 1
    for n in names:  # a queried node no factor mentions (none today): kept with size 1
        if n not in vs:
            vs, arr = vs + (n,), arr[..., None]
    return arr.transpose([vs.index(n) for n in names]), den


def _restrict(factor, var: str, value, diagram: Diagram, zero, keep: bool):
    """Keep only ``var == value`` in a factor (``(scope, array, ...)``, the rest kept):
    the axis stays with length 1 when ``keep`` (the variable is queried), else it is
    dropped, so an observation never couples its neighbours in the elimination."""
    vs, arr = factor[:2]
    if var not in vs:
        return factor
    axis = vs.index(var)
    try:
        i = diagram.domain(var).index(value)
    except ValueError:  # a value outside the domain has probability 0
        shape = list(arr.shape)
        shape[axis] = 1
        arr, i = np.empty(shape, dtype=arr.dtype), 0
        arr.fill(zero)  # not np.full: NumPy would read a FLINT polynomial as a sequence
    if keep:
        return (vs, np.take(arr, [i], axis=axis)) + factor[2:]
    return (vs[:axis] + vs[axis + 1:], _array(np.take(arr, i, axis=axis))) + factor[2:]


def marginal(diagram: Diagram, names, max_factor: int | None = None,
             evidence: dict | None = None, up_to_scale: bool = False,
             backend: str | None = None):
    """The exact joint distribution of the nodes ``names`` (times the evidence).

    Returns ``(names, table, K)``: ``table`` is a NumPy object array indexed by the
    positions of the values in each node's domain, holding elements of the exact domain
    ``K`` (convert one with ``K.to_sympy``). With ``evidence`` (node -> value) the table
    is the unnormalised ``P(names, evidence)``, and an evidence node among ``names`` has
    an axis of length 1 (its observed value). Evidence is applied by slicing factors, so
    observing many nodes makes a query cheaper, not dearer.

    Parameters
    ----------
    diagram : Diagram
        The world.
    names : iterable of str
        The nodes whose joint distribution is wanted.
    max_factor : int, optional
        Refuse a query whose elimination would build a larger factor; default
        :data:`MAX_FACTOR_SIZE`.
    evidence : dict, optional
        Observed nodes and their values.
    up_to_scale : bool, optional
        With ``up_to_scale`` the table may be ``P(names, evidence)`` times a positive
        rational constant (the same for every entry): enough for a caller that normalises
        it. Over rational probabilities the parts of the network that the observations cut
        off from ``names`` are then only checked to have a positive probability (exactly, in
        the Boolean semiring), not computed; if one has probability 0 the table is all 0.
    backend : {"flint", "sympy"}, optional
        How polynomials are represented when the probabilities are symbolic (see
        :func:`~cpspec.inference.polynomials.polynomial_ring`): by default
        python-flint's when it is installed, else SymPy's. The table is the same either
        way; rational queries ignore it.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", X=cp.uniform([0, 1]), Y=cp.fn(lambda X: 1 - X))
    >>> names, table, K = cp.marginal(f, ["X", "Y"])
    >>> [[K.to_sympy(x) for x in row] for row in table]
    [[0, 1/2], [1/2, 0]]
    """
    if backend is not None and backend not in BACKENDS:
        polynomial_ring(QQ, backend)  # raises, naming the backends
    names = tuple(dict.fromkeys(names))
    evidence = dict(evidence or {})
    for n in names + tuple(evidence):
        diagram.node(n)  # unknown names raise here
    relevant = diagram.memo(("relevant", names, frozenset(evidence)), lambda: frozenset(
        diagram.ancestors(names + tuple(evidence))))
    decisions = [n for n in relevant if diagram.node(n).kind == "decision"]
    if decisions:
        raise QueryError(
            f"world {diagram.name!r}: the query depends on decision node(s) "
            f"{', '.join(sorted(decisions))}, which have no distribution until a policy is "
            "chosen; use cp.solve, or replace them with policies via replace()")
    limit = MAX_FACTOR_SIZE if max_factor is None else max_factor
    card = {n: 1 if n in evidence else len(diagram.domain(n)) for n in relevant}
    K = _field(diagram, relevant)
    rational = K is QQ  # one common denominator per factor, int64 while it fits
    if rational:
        tables = [(n, _rational_factor(diagram, n)) for n in sorted(relevant)]
        owned = tables
        for var, value in evidence.items():
            owned = [(o, _restrict(f, var, value, diagram, np.int64(0), var in names))
                     for o, f in owned]
        # an observation may leave a factor constant along its other variables (the
        # factors no observation touched were reduced once, in their memo)
        owned = [(o, f if f is t else _drop_constant_axes(f, set(names) | {o}))
                 for (o, f), (_, t) in zip(owned, tables)]
        reduced = {id(t) for _, t in tables}  # tables are reduced in their memo
        owned = _prune(owned, set(names) | set(evidence))
        factors = [f for _, f in owned]
        eliminate = {v for f in factors for v in f[0]} - set(names) - set(evidence)
    else:
        R = polynomial_ring(K, backend)
        factors = [_node_factor(diagram, n, R) for n in sorted(relevant)]
        den = R.one
        for f in factors:
            den = den * f[2]
        factors = [f[:2] for f in factors]
        for var, value in evidence.items():
            factors = [_restrict(f, var, value, diagram, R.zero, var in names)
                       for f in factors]
        eliminate = set(relevant) - set(names) - set(evidence)
    # the order depends on the structure, which pruning makes depend on observed values
    plan_key = ("plan", names, frozenset(evidence), tuple(f[0] for f in factors))
    order, widest, scope = diagram.memo(plan_key, lambda: elimination_order(
        [f[0] for f in factors], card, eliminate))
    for f in factors:  # a node's own table counts as a factor the query builds
        if f[1].size > widest:
            widest, scope = f[1].size, f[0]
    out_size = 1
    for n in names:
        out_size *= card[n]
    if max(widest, out_size) > limit:
        if out_size >= widest:
            widest, scope = out_size, names
        raise FactorTooLargeError(
            f"world {diagram.name!r}: exact inference would build a factor of {widest} "
            f"entries over ({', '.join(scope)}), above the limit {limit}, with the best "
            "of three elimination orders; query fewer variables at once (E is linear: "
            "split sums), shrink domains, or raise max_factor")
    possible = True
    if rational and up_to_scale:
        factors, cut_off = _split_off(factors, names, diagram)
        possible = _positive(cut_off, order, card)
    arr, int_den = _eliminate(factors, order, names, card, rational,
                              reduced if rational else frozenset())
    if not possible:  # a part cut off from names has probability 0
        arr = np.zeros_like(arr)
    if rational:  # flat: np.ndenumerate stops at 32 axes, a table may have up to 64
        den = int(int_den)
        arr = np.array([QQ(int(x), den) if x else QQ.zero for x in arr.reshape(-1)]
                       + [None], dtype=object)[:-1].reshape(arr.shape)
    else:
        out = np.empty(arr.size, dtype=object)
        for i, x in enumerate(arr.reshape(-1)):
            out[i] = R.to_field(x, den) if x else K.zero
        arr = out.reshape(arr.shape)
    return names, arr, K


# ---- queries -------------------------------------------------------------------------

def world_of(expr: Expr, given: Expr | None, verb: str) -> Diagram:
    """The one world whose variables ``expr`` (and ``given``) read; a query that mixes
    worlds outside a linear expectation is refused with the worlds named."""
    exprs = [expr] + ([given] if given is not None else [])
    diagrams = {}
    for e in exprs:
        for rv in _rvs(e):
            diagrams.setdefault(rv.world, rv.diagram)
    if not diagrams:
        raise QueryError(f"{verb}({expr}) names no random variable; write e.g. "
                         f"{verb}(f.S == 12)")
    if len(diagrams) > 1:
        raise QueryError(
            f"{verb}({expr}{', given=' + str(given) if given is not None else ''}) mixes the "
            f"worlds {', '.join(sorted(diagrams))}: separate worlds have no joint "
            "distribution; query each world on its own and combine the results, e.g. "
            "cp.E(c.S) - cp.E(f.S)")
    return next(iter(diagrams.values()))


def _rvs(e: Expr):
    """The random variables of ``e`` (an explicit stack: sums of thousands of terms)."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, RV):
            yield x
        elif isinstance(x, Op):
            stack.extend(reversed(x.args))


def check_query(x, verb: str, event: bool) -> Expr:
    """``x`` checked as the argument of a query verb: an expression over a world's
    variables, and an event (a comparison) when ``event``."""
    if not isinstance(x, Expr):
        raise QueryError(f"{verb}() needs an expression over a world's variables "
                         f"(e.g. f.S == 12), got {x!r}")
    if event and not x.is_event:
        raise QueryError(f"{verb}({x}): not an event; compare it, e.g. {verb}({x} == 1), "
                         f"or use cp.E for an expectation")
    return x


def _conjuncts(e: Expr):
    if isinstance(e, Op) and e.op == "&":
        for a in e.args:
            yield from _conjuncts(a)
    else:
        yield e


def split_evidence(e: Expr | None) -> tuple[dict, Expr | None]:
    """Split an event into observations ``node == value`` (top-level conjuncts) and the
    rest, so that observations are applied by slicing factors (see :func:`marginal`)."""
    if e is None:
        return {}, None
    evidence: dict = {}
    rest: list[Expr] = []
    for a in _conjuncts(e):
        if isinstance(a, Op) and a.op == "==":
            x, y = a.args
            if isinstance(y, RV) and isinstance(x, Const):
                x, y = y, x
            if isinstance(x, RV) and isinstance(y, Const) and x.node not in evidence:
                evidence[x.node] = y.value
                continue
        rest.append(a)
    out = None
    for a in rest:
        out = a if out is None else out & a
    return evidence, out


#: A query that reads its variables only through one sum of at least this many distinct
#: nodes is answered through partial sums (see :func:`through_partial_sums`)
MIN_PARTIAL_SUM = 4


def _sum_terms(e: Op) -> list[Expr]:
    """The terms of the ``+`` chain ``e`` (an explicit stack: sums of thousands)."""
    stack, out = [e], []
    while stack:
        x = stack.pop()
        if isinstance(x, Op) and x.op == "+":
            stack.extend(reversed(x.args))
        else:
            out.append(x)
    return out


def _sum_of_nodes(terms: list[Expr]) -> tuple[list[str], int] | None:
    """``(node names, constant)`` if ``terms`` are distinct nodes and integer constants
    (``sum(..., 0)`` starts at 0), else None."""
    out, offset = [], 0
    for x in terms:
        if isinstance(x, RV):
            out.append(x.node)
        elif isinstance(x, Const) and type(x.value) is int:
            offset += x.value
        else:
            return None
    return (out, offset) if len(set(out)) == len(out) else None


def through_partial_sums(diagram: Diagram, expr: Expr, max_factor: int | None = None
                         ) -> tuple[Diagram, Expr] | None:
    """``expr`` read through partial sums, when all its variables sit in one sum of
    :data:`MIN_PARTIAL_SUM` or more distinct nodes (``P(X1 + ... + Xn == k)``): the
    diagram gains deterministic nodes ``S_1 = X1``, ``S_k = S_(k-1) + Xk``, and the
    expression reads the last one. The joint of the n terms (``2**n`` rows for coins) is
    never enumerated; the elimination meets tables over ``(S_(k-1), Xk, S_k)`` instead.
    ``None`` when the rule does not apply, or when a partial sum's table (dense, over
    ``(S_(k-1), Xk, S_k)``) would pass ``max_factor`` entries (default
    :data:`MAX_FACTOR_SIZE`): the query then goes the usual way, and is refused there if
    it is too large. The extended diagram is kept with ``diagram``.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", [(f"X{i}", cp.bernoulli("1/2")) for i in range(5)])
    >>> d, e = through_partial_sums(w, sum((w[f"X{i}"] for i in range(5)), 0) == 2)
    >>> e, d.domain(e.args[0].node)
    (partial_sum_5_w == 2, (0, 1, 2, 3, 4, 5))
    """
    sums = []
    stack = [expr]
    while stack:  # the outermost sums of nodes; each sub-expression is visited once
        x = stack.pop()
        if isinstance(x, Op) and x.op == "+":
            terms = _sum_terms(x)
            found = _sum_of_nodes(terms)
            if found is not None:
                sums.append((x, *found))
            else:
                stack.extend(t for t in terms if isinstance(t, Op))
        elif isinstance(x, Op):
            stack.extend(x.args)
    if len(sums) != 1 or len(sums[0][1]) < MIN_PARTIAL_SUM:
        return None
    target, nodes, offset = sums[0]
    if {n for _, n in expr.variables()} != set(nodes):
        return None
    if not _partial_sums_fit(diagram, nodes, MAX_FACTOR_SIZE if max_factor is None
                             else max_factor):
        return None
    extended = diagram.memo(("partial sums", tuple(nodes), offset),
                            lambda: _add_partial_sums(diagram, nodes, offset))
    last = RV(extended, extended.order[-1])

    def rebuild(e):
        if e is target:
            return last
        if isinstance(e, Op):
            return Op(e.op, *(rebuild(a) for a in e.args))
        return e

    return extended, rebuild(expr)


def _partial_sums_fit(diagram: Diagram, nodes: list[str], limit: int) -> bool:
    """Whether every partial sum's table stays within ``limit`` entries, estimated from
    the terms' domains (integer values bound a sum's domain by its range)."""
    size, lo, hi = 1, 0, 0
    for n in nodes:
        dom = diagram.domain(n)
        ints = all(type(v) is int for v in dom)
        new = size * len(dom)
        if ints and lo is not None:
            lo, hi = lo + min(dom), hi + max(dom)
            new = min(new, hi - lo + 1)
        else:
            lo = hi = None
        if size * len(dom) * new > limit:
            return False
        size = new
    return True


def _add_partial_sums(diagram: Diagram, nodes: list[str], offset: int) -> Diagram:
    prefix = "partial_sum_"
    while any(n.startswith(prefix) for n in diagram.order):
        prefix = "_" + prefix
    extra = [make_node(f"{prefix}1", fn(lambda x: offset + x, parents=[nodes[0]]))]
    for k, n in enumerate(nodes[1:], start=2):
        extra.append(make_node(f"{prefix}{k}", fn(lambda a, b: a + b,
                                                   parents=[f"{prefix}{k - 1}", n])))
    return Diagram(diagram.name, list(diagram.nodes.values()) + extra, diagram.bindings)


def joint_rows(diagram: Diagram, keys, evidence: dict, cond: Expr | None,
               max_factor: int | None = None, up_to_scale: bool = False):
    """The non-zero rows of the exact joint of ``keys`` (``evidence`` applied by slicing)
    where ``cond`` holds: ``([(node -> value, probability in K), ...], K)``; with
    ``up_to_scale`` the probabilities may share a positive constant factor (see
    :func:`marginal`)."""
    names, arr, K = marginal(diagram, keys, max_factor, evidence, up_to_scale)
    domains = [(evidence[n],) if n in evidence else diagram.domain(n) for n in names]
    w = diagram.name
    rows = []
    for idx, p in np.ndenumerate(arr):
        if not p:
            continue
        full = {n: domains[i][j] for i, (n, j) in enumerate(zip(names, idx))}
        if cond is not None and not cond.evaluate({(w, n): v for n, v in full.items()}):
            continue
        rows.append((full, p))
    return rows, K


def joint_weights(expr: Expr, given: Expr | None, max_factor: int | None, verb: str,
                  up_to_scale: bool = False):
    """Map each value of ``expr`` to its probability jointly with ``given`` (in K).

    Returns ``(acc, den, K)`` with ``den = P(given)`` (``P`` of the absorbed observations
    when ``given`` is None). With ``up_to_scale`` the weights and ``den`` may share a
    positive constant factor, which ``acc[v] / den`` cancels; ``den`` is 0 exactly when
    ``P(given)`` is.
    """
    diagram = world_of(expr, given, verb)
    if given is None and verb == "P":
        # P(event): the event's observations become evidence, only the rest is enumerated
        evidence, rest = split_evidence(expr)
        expr, cond = (rest if rest is not None else Const(True)), None
    else:
        evidence, cond = split_evidence(given)
    if cond is None:
        rewritten = through_partial_sums(diagram, expr, max_factor)
        if rewritten is not None:
            diagram, expr = rewritten
    keys = sorted({n for _, n in expr.variables()} |
                  ({n for _, n in cond.variables()} if cond is not None else set()))
    rows, K = joint_rows(diagram, keys, evidence, cond, max_factor,
                         up_to_scale and given is not None)
    w = diagram.name
    acc: dict = {}
    den = K.zero
    for full, p in rows:
        den += p
        v = expr.evaluate({(w, n): x for n, x in full.items()})
        try:
            acc[v] = acc.get(v, K.zero) + p
        except TypeError:
            raise QueryError(f"{expr} takes the unhashable value {v!r}") from None
    if given is not None and not den:
        raise ConditioningError(
            f"P({given}) = 0 in world {w!r}: conditioning on a probability-zero event is "
            "undefined; check the evidence against the nodes' domains")
    return acc, den, K


def P(event: Expr, given: Expr | None = None, max_factor: int | None = None):
    """The exact probability of ``event`` (optionally given another event of the same world).

    Parameters
    ----------
    event : Expr
        An event built from one world's variables: ``f.S == 12``, ``(f.G == 6) & ~(f.R < 3)``.
    given : Expr, optional
        An event to condition on; its probability must not be 0.
    max_factor : int, optional
        Refuse (with :class:`FactorTooLargeError`) a query whose elimination would build
        a larger factor; default :data:`MAX_FACTOR_SIZE`.

    Returns
    -------
    sympy.Rational or sympy.Expr
        Exact; an expression in the parameters when the diagram has symbolic ones.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> cp.P(f.S == 12)
    1/36
    >>> cp.P(f.G == 6, given=f.S >= 11)
    2/3
    """
    check_query(event, "P", True)
    if given is not None:
        check_query(given, "P", True)
    acc, den, K = joint_weights(event, given, max_factor, "P", up_to_scale=True)
    num = sum((p for v, p in acc.items() if v), K.zero)
    return field_to_sympy(K, num / den if given is not None else num)


def _linear_terms(expr: Expr, sign=1):
    """Split ``expr`` into (coefficient, term) pairs by linearity of expectation (an
    explicit stack, so that sums of thousands of terms do not exhaust Python's stack)."""
    stack = [(expr, sign)]
    while stack:
        e, sg = stack.pop()
        if isinstance(e, Op):
            if e.op in ("+", "-"):
                stack.append((e.args[1], sg if e.op == "+" else -sg))
                stack.append((e.args[0], sg))
                continue
            if e.op == "neg":
                stack.append((e.args[0], -sg))
                continue
            if e.op == "*":
                for k in (0, 1):
                    c = e.args[k]
                    if isinstance(c, Const) and _is_number(c.value):
                        stack.append((e.args[1 - k], sg * number_to_sympy(c.value)))
                        break
                else:
                    yield sg, e
                continue
        yield sg, e


def _is_number(v) -> bool:
    try:
        number_to_sympy(v)
    except TypeError:
        return False
    return True


def numeric_value(v, expr):
    """The value ``v`` of ``expr`` as a SymPy number, or a :class:`QueryError` saying that
    ``E`` needs numbers (a label must be compared or mapped to numbers first)."""
    try:
        out = number_to_sympy(v)
    except TypeError:
        out = None
    if isinstance(out, sympy.Expr):
        return out
    raise QueryError(f"E({expr}) needs numeric values, but {expr} takes the value {v!r}; "
                     "compare it instead (P(... == ...)) or map it to numbers with cp.fn")


def E(expr: Expr, given: Expr | None = None, max_factor: int | None = None):
    """The exact expectation of ``expr`` (optionally given an event).

    ``E`` is linear, so a sum may mix worlds: ``E(c.S - f.S) == E(c.S) - E(f.S)``.
    Events count as 0/1.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> cp.E(f.S), cp.E(f.S, given=f.G == 6)
    (7, 19/2)
    >>> cp.E(f.replace("c", R=6).S - f.S)
    5/2
    """
    if given is not None:
        check_query(given, "E", True)
    if not isinstance(expr, Expr):
        expr = Const(expr)
    total = sympy.Integer(0)
    conditioned = given is None
    for coef, term in _linear_terms(expr):
        if not term.variables():
            total += coef * numeric_value(term.evaluate({}), term)
            continue
        conditioned = True
        acc, den, K = joint_weights(term, given, max_factor, "E", up_to_scale=True)
        part = sum((numeric_value(v, term) * field_to_sympy(K, p) for v, p in acc.items()),
                   sympy.Integer(0))
        if given is not None:
            part = part / field_to_sympy(K, den)
        total += coef * part
    if not conditioned:  # a constant given an event: the event must still be possible
        joint_weights(given, given, max_factor, "E")
    return sympy.cancel(total) if total.free_symbols else total


def distribution(expr: Expr, given: Expr | None = None, max_factor: int | None = None
                 ) -> dict:
    """The exact distribution of ``expr`` (a node or any expression of one world):
    a dict value -> probability, in one elimination.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> cp.distribution(f.G, given=f.S == 11)
    {5: 1/2, 6: 1/2}
    """
    check_query(expr, "distribution", False)
    if given is not None:
        check_query(given, "distribution", True)
    acc, den, K = joint_weights(expr, given, max_factor, "distribution",
                                up_to_scale=True)
    den = den if given is not None else K.one
    out = {v: field_to_sympy(K, p / den) for v, p in acc.items()}
    try:
        return dict(sorted(out.items()))
    except TypeError:  # values of mixed types keep their order
        return out
