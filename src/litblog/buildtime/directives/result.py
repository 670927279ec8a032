"""``{result}`experiment.value:format```: a stored value in prose or a caption.

``{result}`model1.test.accuracy:.1%``` renders ``68.0%`` (``68.0% ± 1.4%`` over seeds, see
``seed_values.py``); ``{result}`model3.test.accuracy - model1.test.accuracy:+.1%``` renders the
difference of two values, with its 95% interval when a side has several runs (Welch's t, or a
paired t with ``(paired)`` after the difference: ``{result}`a.x - b.x (paired):+.1%```).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import MINUS, PAIRED, Role, ValuePath, format_spec_problem, value_path


@dataclass(frozen=True)
class ValueReference:
    """An inline ``{result}`experiment.metric:format``` in prose or a caption.

    ``minus``: ``{result}`a.x - b.y``` names the difference of two values (with seeds on both
    sides, the mean difference and its confidence interval).
    """

    experiment: str
    metric: str
    format_spec: str
    location: SourceLocation
    start: int  # offsets of the whole role in the text it was found in
    end: int
    minus: ValuePath | None = None
    paired: bool = False  # "(paired)": the difference's interval by a paired t over the seeds

    @property
    def experiments(self) -> tuple[str, ...]:
        return (self.experiment,) + ((self.minus.experiment,) if self.minus else ())



def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> ValueReference | None:
    target, _, format_spec = content.partition(":")
    paired = PAIRED.search(target)
    if paired:
        target = target[:paired.start()]
    operands = MINUS.split(target.strip())
    paths = [value_path(operand) for operand in operands]
    if len(operands) > 2 or not all(paths) or (paired and len(operands) != 2):
        errors.append(UserError(f"result reference '{content}' needs an experiment and a metric", location,
                                hint="write {result}`experiment.metric`, {result}`experiment.metric:.1%` or "
                                     "{result}`model2.test.accuracy - model1.test.accuracy:+.1%` ('(paired)' after a difference "
                                     "for a paired t)"))
        return None
    if format_spec:
        problem = format_spec_problem(format_spec)
        if problem:
            errors.append(UserError(f"invalid format spec '{format_spec}' in '{content}': {problem}", location,
                                    hint="use a Python format spec such as .1%, .3f or ,"))
            return None
    first = paths[0]
    assert first is not None
    return ValueReference(first.experiment, first.path, format_spec, location, start, end,
                           paths[1] if len(paths) == 2 else None, bool(paired))



ROLE = Role("result", ValueReference, parse, in_captions=True)

