"""When Hyperband's fits run: in waves of every bracket's next rung, or asynchronously.

Both schedulers compose successive halving per bracket: a rung's candidates
are trained (:class:`~._bracket.Trainer`), and :func:`~._schedule.promote`,
a pure function of the rung's scores, says which go on. They differ only
in when they call it:

- :func:`run_waves` (``scheduler='parallel'`` or ``'brackets'``): once a
  rung is complete, promoting as many as the schedule's next rung takes;
- :func:`run_async` (ASHA, ``scheduler='async'``): whenever a worker is
  free, from the results the rung has so far, promoting the top
  ``1 / eta`` of them.
"""

import time

from ..utils._printing import count, format_duration, print_lines
from ._bracket import Bracket
from ._engines import worker_slots
from ._schedule import integer_rungs, promote, rank


def _integer_rungs(search, bracket):
    return integer_rungs(bracket["rungs"], search.min_resource_, search.max_resource_)


class SearchLog:
    """What ``verbose=1`` prints during a search, a line per event.

    Each line starts with the time elapsed since the search started and
    ends with the fits done (one fit: a candidate on a fold at a rung), out
    of the fits planned where the schedule says how many (not with ASHA,
    whose promotions are decided as results arrive). Scores are named by
    the metric that promotes candidates: the ``scoring`` string, the
    ``refit`` metric of several, or ``'score'`` (the estimator's ``score``
    or a callable).
    """

    def __init__(self, search, trainer, proposals):
        self.on = search.verbose > 0
        self.most = proposals.most
        self.start = time.perf_counter()
        self.done = 0
        self.n_splits = trainer.n_splits
        self.metric = search.scoring if isinstance(search.scoring, str) else trainer.metric

    def print(self, text, planned=None):
        if self.on:
            fits = (f"fits {self.done}/{planned} done" if planned is not None
                    else f"{count(self.done, 'fit')} done")
            elapsed = format_duration(time.perf_counter() - self.start)
            print_lines(f"[Hyperband {elapsed}] {text}; {fits}")

    def planned(self, brackets):
        """Fits done plus those the wave scheduler's brackets have still to run.

        A bracket plans its schedule's ``n_i`` candidates per rung, at most as
        many as are alive once started (failed candidates are not promoted)
        and as a grid of lists has points.
        """
        left = 0
        for br in brackets:
            alive = len(br.alive) if br.candidates else self.most
            left += sum(n if alive is None else min(n, alive) for n, _ in br.rungs[br.rung:])
        return self.done + left * self.n_splits


def _label(br, n_brackets, rung):
    """The bracket and rung that a line of the wave scheduler is about."""
    return f"bracket {br.index + 1}/{n_brackets} (s={br.s}), rung {rung + 1}/{len(br.rungs)}"


def start_rung(trainer, br, brackets, log):
    """The fold fits of the bracket's next rung: every candidate alive, every fold."""
    r = br.rungs[br.rung][1]
    br.summary["n_candidates"].append(len(br.alive))
    br.summary["n_resources"].append(r)
    log.print(f"{_label(br, len(brackets), br.rung)}: {count(len(br.alive), 'candidate')} x "
              f"{count(trainer.n_splits, 'fold')} at {trainer.resource}={r}",
              log.planned(brackets))
    fits = []
    for j, c in enumerate(br.alive):
        fits += trainer.unit(br, c, r, (j, len(br.alive)))
    return fits


def end_rung(trainer, br, outcomes, proposals, brackets, log):
    """Record the rung's results, promote the best, free the others' models.

    A candidate that goes no further is told to ``proposals`` with the score
    of its last rung, best first.
    """
    r, n_splits = br.rungs[br.rung][1], trainer.n_splits
    scores = [trainer.record(br, c, r, br.rung, outcomes[j * n_splits:(j + 1) * n_splits])
              for j, c in enumerate(br.alive)]
    label = _label(br, len(brackets), br.rung)
    br.rung += 1
    promoted = promote(scores, br.rungs[br.rung][0] if not br.done else 0)
    for j in rank(scores):
        if j not in promoted:  # a candidate's last rung: tell the proposer
            proposals.report(br.alive[j], scores[j])
    survivors = [br.alive[j] for j in promoted]
    best = scores[rank(scores)[0]] if scores else float("nan")  # a rung left empty
    ending = (f"{len(survivors)} of {len(scores)} promoted" if not br.done
              else "bracket done")
    # eliminated candidates' models are freed at once, not at the bracket's end
    br.release(set(br.alive) - set(survivors), n_splits)
    br.alive = survivors
    log.done += len(outcomes)
    log.print(f"{label} done: best mean {log.metric} {best:.4f}, {ending}",
              log.planned(brackets))


def run_waves(search, engine, trainer, proposals, schedule):
    """Synchronous Hyperband: rungs in waves, every bracket in flight at once.

    Each wave runs the next rung of every bracket still going, so a wave
    has many more fits to share among the workers than one rung has.
    Candidates are proposed in bracket order either way, so the results
    do not depend on the scheduler. An Optuna sampler learns from
    earlier brackets: it runs them one by one.

    Returns
    -------
    brackets : list of Bracket
    n_waves : int
    """
    brackets = [Bracket(b, bracket["s"], _integer_rungs(search, bracket))
                for b, bracket in enumerate(schedule)]
    one_by_one = search.scheduler == "brackets" or search.sampler is not None
    pending, active, n_waves = list(brackets), [], 0
    log = SearchLog(search, trainer, proposals)
    while pending or active:
        if not active or not one_by_one:
            starting = pending[:1] if one_by_one else pending
            pending = pending[len(starting):]
            for br in starting:
                br.candidates = proposals.propose(br.rungs[0][0])
                br.alive = list(range(len(br.candidates)))
            active += starting
        fits, spans = [], []
        for br in active:
            rung_fits = start_rung(trainer, br, brackets, log)
            spans.append((br, len(rung_fits)))
            fits += rung_fits
        outcomes = engine.wave(fits)
        n_waves += 1
        pos = 0
        for br, n in spans:
            end_rung(trainer, br, outcomes[pos:pos + n], proposals, brackets, log)
            pos += n
        active = [br for br in active if not br.done]
    return brackets, n_waves


def run_async(search, engine, trainer, proposals, schedule):
    """Asynchronous successive halving (ASHA; Li et al., MLSys 2020, Algorithm 2).

    One ladder of rungs, those of Hyperband's most aggressive bracket.
    Whenever a worker is free: promote a candidate that is in the top
    ``1 / eta`` of the results its rung has so far and not yet promoted,
    looking from the highest rung down; else start a new candidate at
    the lowest rung, until as many candidates as the synchronous search
    would sample have started. No rung waits for its slowest fit. When
    too few candidates reach a rung for its top ``1 / eta`` to hold one,
    the best of the highest rung is carried on to ``max_resource`` at the
    end.

    Returns
    -------
    brackets : list of one Bracket
    n_waves : int
        The number of units (a candidate's folds at one rung) submitted.
    """
    rungs = _integer_rungs(search, schedule[0])
    br = Bracket(0, schedule[0]["s"], rungs)
    n_configs = sum(b["rungs"][0][0] for b in schedule)
    upfront = search.sampler is None  # random candidates: drawn as the sync search draws
    br.candidates = proposals.propose(n_configs) if upfront else []
    if upfront:  # a grid of lists smaller than n_configs gives each point once
        n_configs = len(br.candidates)
    results = [[] for _ in rungs]  # per rung: (score, candidate) in the order they finished
    promoted = [set() for _ in rungs]  # per rung: candidates promoted from it
    started = n_waves = 0
    slots = worker_slots(engine, search.n_jobs)
    in_flight = {}  # future -> (candidate, rung, fold, fit)
    units = {}  # (candidate, rung) -> outcomes by fold
    n_splits = trainer.n_splits
    log = SearchLog(search, trainer, proposals)

    def label(c, k):
        return f"candidate {c + 1}/{n_configs}, rung {k + 1}/{len(rungs)}"

    def promotable(k, n_promote):
        """A candidate of rung ``k`` among ``promote``'s choice not yet promoted."""
        for j in promote([score for score, _ in results[k]], n_promote):
            c = results[k][j][1]
            if c not in promoted[k]:
                promoted[k].add(c)
                return c, k + 1
        return None

    def next_unit():
        nonlocal started
        for k in range(len(rungs) - 2, -1, -1):
            unit = promotable(k, int(len(results[k]) / search.eta))
            if unit is not None:
                return unit
        if started < n_configs:
            if not upfront:
                br.candidates += proposals.propose(1)
            started += 1
            return started - 1, 0
        if not in_flight and not results[-1]:
            # every candidate started, none promotable, none at max_resource
            # (too few candidates for 1 / eta of a rung to be one): carry the
            # best of the highest rung on, so the search ends at max_resource
            for k in range(len(rungs) - 2, -1, -1):
                left = [(score, c) for score, c in results[k] if c not in promoted[k]]
                for j in promote([score for score, _ in left], 1):
                    promoted[k].add(left[j][1])
                    return left[j][1], k + 1
        return None

    while True:
        # a candidate's folds go out together: keep a unit queued beyond the
        # free workers so none waits for the last fold of a unit
        while len(in_flight) < max(slots, n_splits):
            unit = next_unit()
            if unit is None:
                break
            c, k = unit
            r = rungs[k][1]
            log.print(f"{label(c, k)}: starts at {search.resource}={r}")
            for fold, fit in enumerate(trainer.unit(br, c, r, (c, n_configs))):
                in_flight[engine.submit(fit)] = (c, k, fold, fit)
            units[(c, k)] = [None] * n_splits
            n_waves += 1
        if not in_flight:
            break
        for future in engine.wait_any(list(in_flight)):
            c, k, fold, fit = in_flight.pop(future)
            units[(c, k)][fold] = engine.outcome(future, fit)
            if all(o is not None for o in units[(c, k)]):
                score = trainer.record(br, c, rungs[k][1], k, units.pop((c, k)))
                log.done += n_splits
                log.print(f"{label(c, k)} done: mean {log.metric} {score:.4f}")
                results[k].append((score, c))
                br.summary.setdefault("finished", []).append((c, k))
                if k == len(rungs) - 1:
                    proposals.report_at(c, score)
                    br.release([c], n_splits)  # the top rung: done with it
    br.summary["n_resources"] = [r for _, r in rungs]
    br.summary["n_candidates"] = [len(res) for res in results]
    for k, res in enumerate(results[:-1]):  # candidates that stopped below the top
        for score, c in res:
            if not any(c == c2 for _, c2 in results[k + 1]):
                proposals.report_at(c, score)
    br.models.clear()
    return [br], n_waves
