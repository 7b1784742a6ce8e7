"""Survival estimates for times to an answer that may never have come: Kaplan-Meier, its quantiles, and the
share answered by a given time. Pure functions, tested alone."""

from __future__ import annotations


def kaplan_meier(observations: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """The survival curve [(time, S(time))] at each time an answer came, from (duration, answered) pairs.

    Items censored at a time are still at risk at that time, as is the convention."""
    curve, survival = [], 1.0
    remaining = sorted(observations)
    at_risk = len(remaining)
    index = 0
    while index < len(remaining):
        moment = remaining[index][0]
        answered = censored = 0
        while index < len(remaining) and remaining[index][0] == moment:
            answered += remaining[index][1]
            censored += not remaining[index][1]
            index += 1
        if answered:
            survival *= 1 - answered / at_risk
            curve.append((moment, survival))
        at_risk -= answered + censored
    return curve


def survival_quantile(curve: list[tuple[float, float]], share_answered: float) -> float | None:
    """The time by which `share_answered` of items got an answer; None when the data never gets there."""
    for moment, survival in curve:
        if survival <= 1 - share_answered + 1e-12:
            return moment
    return None


def answered_by(curve: list[tuple[float, float]], hours: float) -> float:
    survival = 1.0
    for moment, value in curve:
        if moment > hours:
            break
        survival = value
    return 1 - survival
