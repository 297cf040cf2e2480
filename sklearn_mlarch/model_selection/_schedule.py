"""The pure functions of Hyperband: the bracket schedule, its integer rungs, promotion.

As dask-ml splits its Hyperband (``_get_hyperband_params`` for the
brackets, successive halving's ``_adapt`` for promotion), what the search
decides is computed here from numbers alone, with no estimator and no
state:

- :func:`hyperband_schedule`: how many candidates each bracket starts and
  the resource of each rung (Li et al., Algorithm 1);
- :func:`integer_rungs`: those rungs in integer resources, repeated
  resources merged;
- :func:`promote`: from the scores of a rung, which candidates go on.

The schedulers (``_schedulers``) only decide *when* to call them: the wave
scheduler promotes once a rung is complete, the asynchronous one (ASHA)
whenever a worker is free, from the results its rung has so far.
"""

import math


def hyperband_schedule(max_resource: float, eta: float = 3) -> list[dict]:
    """Brackets of Hyperband (Li et al., JMLR 18(185), 2018, Algorithm 1).

    With ``R = max_resource`` in units of the smallest resource,
    ``s_max = floor(log_eta(R))``; bracket ``s`` (from ``s_max`` down to 0)
    starts ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` configurations at
    ``r = R * eta**-s`` and runs successive halving: rung ``i`` evaluates
    ``n_i = floor(n * eta**-i)`` configurations at ``r_i = r * eta**i``
    and keeps the best ``floor(n_i / eta)``.

    Parameters
    ----------
    max_resource : float
        ``R``, the largest resource in units of the smallest.
    eta : float, default=3
        Halving rate.

    Returns
    -------
    brackets : list of dict
        One per bracket, in the order run: ``{"s": s, "rungs": [(n_i, r_i), ...]}``
        with ``r_i`` in units of the smallest resource (not rounded).

    Examples
    --------
    The table of Li et al. for R=81, eta=3, first rungs of each bracket:

    >>> [b["rungs"][0] for b in hyperband_schedule(81, 3)]
    [(81, 1.0), (34, 3.0), (15, 9.0), (8, 27.0), (5, 81.0)]
    """
    if max_resource < 1:
        raise ValueError(f"max_resource must be >= 1 (in units of min_resource), "
                         f"got {max_resource}")
    if eta <= 1:
        raise ValueError(f"eta must be > 1, got {eta}")
    # the epsilon keeps exact powers (81 = 3**4) from flooring one too low
    s_max = int(math.floor(math.log(max_resource) / math.log(eta) + 1e-9))
    brackets = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s))
        r = max_resource * float(eta) ** -s
        rungs = [(int(math.floor(n * eta ** -i + 1e-9)), r * eta ** i) for i in range(s + 1)]
        brackets.append({"s": s, "rungs": rungs})
    return brackets


def integer_rungs(rungs, min_resource, max_resource):
    """A bracket's rungs as ``(n_i, r_i)`` with ``r_i`` an integer resource.

    ``r_i`` is the rung's resource in units (from :func:`hyperband_schedule`)
    times ``min_resource``, rounded, at least ``min_resource`` and the
    previous rung's, at most ``max_resource``; ``n_i`` is at least 1.
    Rounding can give neighbouring rungs the same resource (``eta=1.2``,
    ``max_resource=3``: 1, 1, 1, 2, 2, 3, 3). Training by 0 more is no rung:
    such rungs merge into the first of them, which keeps its number of
    candidates and promotes as many as the next distinct rung takes.

    Parameters
    ----------
    rungs : list of (int, float)
        One bracket's ``"rungs"`` from :func:`hyperband_schedule`.
    min_resource, max_resource : int
        The resource of one unit, and the largest.

    Returns
    -------
    rungs : list of (int, int)
        Strictly increasing resources.

    Examples
    --------
    >>> integer_rungs(hyperband_schedule(3, 1.2)[0]["rungs"], 1, 3)
    [(3, 1), (1, 2), (1, 3)]
    >>> integer_rungs([(9, 1.0), (3, 3.0), (1, 9.0)], 10, 90)
    [(9, 10), (3, 30), (1, 90)]
    """
    distinct, previous = [], 0
    for n_i, r_units in rungs:
        r = min(max(int(round(r_units * min_resource)), min_resource, previous), max_resource)
        previous = r
        if distinct and distinct[-1][1] == r:
            continue
        distinct.append((max(n_i, 1), r))
    return distinct


def _isnan(score):
    return score != score


def rank(scores):
    """Positions of ``scores``, best first: descending score, NaN last, ties by position.

    Examples
    --------
    >>> rank([0.2, float("nan"), 0.5, 0.2])
    [2, 0, 3, 1]
    """
    return sorted(range(len(scores)),
                  key=lambda i: (True, 0.0) if _isnan(scores[i]) else (False, -scores[i]))


def promote(scores, n_promote):
    """Which candidates of a rung go on to the next one: a pure function of the rung.

    The ``n_promote`` best by score, best first; equal scores in the order
    given (the order candidates were proposed, or for ASHA the order their
    results arrived), so the choice is deterministic. A failed candidate
    (NaN score, ``error_score=np.nan``) is never promoted, so fewer than
    ``n_promote`` may be returned.

    The wave scheduler calls it once a rung is complete, with ``n_promote``
    the next rung's number of candidates (``floor(n_i / eta)`` of the
    schedule); ASHA calls it whenever a worker is free, on the results the
    rung has so far, with ``n_promote = int(len(scores) / eta)``, and
    promotes the first of them not promoted yet.

    Parameters
    ----------
    scores : sequence of float
        Mean cross-validated score of each candidate of the rung.
    n_promote : int
        How many to promote at most.

    Returns
    -------
    promoted : list of int
        Positions in ``scores``, best first.

    Examples
    --------
    >>> promote([0.3, 0.9, float("nan"), 0.5, 0.9, 0.1], 2)
    [1, 4]
    >>> promote([float("nan"), 0.1, float("nan")], 2)
    [1]
    """
    return [i for i in rank(scores)[:max(int(n_promote), 0)] if not _isnan(scores[i])]
