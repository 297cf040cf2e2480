"""The Hyperband bracket schedule, a pure function."""

import math


def hyperband_schedule(max_resource, eta=3):
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
