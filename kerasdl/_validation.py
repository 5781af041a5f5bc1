"""Argument checks shared by every builder, loader and helper.

Each check raises ``ValueError`` naming the argument, the value it got and what is
allowed, so a bad call fails before any layer is built or any data is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise if it is not an integer in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def check_float(
    name: str,
    value,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float, or raise if it is not a real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if value != value:  # NaN
        raise ValueError(f"{name} must be a number, got nan")
    if minimum is not None and (value < minimum or (not min_inclusive and value == minimum)):
        bound = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {minimum}, got {value!r}")
    if maximum is not None and (value > maximum or (not max_inclusive and value == maximum)):
        bound = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {bound} {maximum}, got {value!r}")
    return value


def check_choice(name: str, value, allowed: Iterable):
    """Return ``value`` if it is one of ``allowed``, else raise listing the allowed values."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed!r}, got {value!r}")
    return value


def check_image_shape(
    name: str,
    shape,
    *,
    min_size: int | Sequence[int] = 1,
    channels: int | None = None,
) -> tuple[int, int, int]:
    """Check a channels-last ``(height, width, channels)`` image shape.

    ``min_size`` is the smallest height/width the architecture accepts (an int for both,
    or a ``(min_height, min_width)`` pair); ``channels`` pins the channel count.
    """
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a (height, width, channels) tuple, got {shape!r}") from None
    if len(shape) != 3 or not all(isinstance(d, Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{name} must be a (height, width, channels) tuple of positive integers, got {shape!r}")
    min_h, min_w = (min_size, min_size) if isinstance(min_size, Integral) else tuple(min_size)
    if shape[0] < min_h or shape[1] < min_w:
        raise ValueError(
            f"{name}={shape!r} is too small: height and width must be at least {min_h}x{min_w} for this architecture"
        )
    if channels is not None and shape[2] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got {shape!r}")
    return tuple(int(d) for d in shape)


def check_shape(name: str, shape, *, ndim: int | None = None) -> tuple[int, ...]:
    """Check a shape tuple of positive integers (any rank, or exactly ``ndim``)."""
    if isinstance(shape, Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers, got {shape!r}") from None
    if not shape or not all(isinstance(d, Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{name} must be a non-empty tuple of positive integers, got {shape!r}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got {shape!r}")
    return tuple(int(d) for d in shape)


def check_num_classes(num_classes) -> int:
    """Number of output classes: an integer >= 1 (1 means a single sigmoid/regression unit)."""
    return check_int("num_classes", num_classes, minimum=1)


def check_characters(name: str, characters) -> list[str]:
    """A character vocabulary: a non-empty sequence of distinct single-character strings."""
    characters = list(characters)
    if not characters:
        raise ValueError(f"{name} must not be empty")
    if any(not isinstance(c, str) or len(c) != 1 for c in characters):
        raise ValueError(f"{name} must be single-character strings")
    if len(set(characters)) != len(characters):
        raise ValueError(f"{name} must be distinct")
    return characters
