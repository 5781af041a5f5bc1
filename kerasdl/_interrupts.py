"""Ctrl-C that always stops the work: :func:`interrupts_are_never_lost`, used around every
``kerasdl`` command (:mod:`kerasdl.cli`) and every benchmark script
(:func:`kerasdl.benchmarking.run_script`). Kept here, in the library, so both use one
mechanism without the library importing the command line."""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading

INTERRUPT_RETRY_SECONDS = 0.05


@contextlib.contextmanager
def interrupts_are_never_lost():
    """Within the block, Ctrl-C always ends in ``KeyboardInterrupt`` leaving the block.

    Python raises ``KeyboardInterrupt`` wherever the main thread is when SIGINT arrives, and
    some code there can lose it: CPython cannot raise an exception out of code it runs on its
    own behalf (an object's ``__del__``, a weakref callback, a generator closed by the garbage
    collector: "Exception ignored in ..." and :func:`sys.unraisablehook`), and a library may
    catch everything (TensorFlow's ``FuncGraph`` deleter runs ``try: ... except: pass`` in a
    ``__del__``). TensorFlow frees iterators and functions that way every epoch, so a Ctrl-C
    could leave a run training. Inside the block, from the first SIGINT until the interrupt
    leaves the block, a watchdog thread re-raises it in the main thread every
    :data:`INTERRUPT_RETRY_SECONDS` (``_thread.interrupt_main``) unless the main thread is
    handling it at that moment (an ``except`` or ``finally`` clause on its way out, which is
    left to finish). Lost interrupts are not printed; other unraisable exceptions go to the
    previous hook. SIGINT raises ``KeyboardInterrupt`` inside the block whatever handler was
    set before; the previous handler and hook come back afterwards. Elsewhere than the main
    thread (where Python cannot install handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_hook = sys.unraisablehook
    lock = threading.Lock()
    state = {"stopping": False, "closed": False}  # closed: the block is being left, ignore SIGINT
    watchdogs: list[threading.Timer] = []

    def raise_again_if_still_inside():
        with lock:  # never after the block has started to close
            if state["stopping"] and not state["closed"]:
                _thread.interrupt_main(signal.SIGINT)  # runs on_sigint in the main thread

    def on_sigint(signum, frame):
        if state["closed"]:
            return
        watchdog = threading.Timer(INTERRUPT_RETRY_SECONDS, raise_again_if_still_inside)
        watchdog.daemon = True
        watchdogs.append(watchdog)
        watchdog.start()  # every SIGINT arms the next check, until the block is left
        if state["stopping"] and isinstance(sys.exc_info()[1], KeyboardInterrupt):
            return  # the interrupt is on its way out (an except or finally clause): let that finish
        state["stopping"] = True
        raise KeyboardInterrupt

    def hide_lost_interrupts(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous_handler = signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = hide_lost_interrupts
    try:
        yield
    finally:
        with lock:
            state["closed"] = True
        for watchdog in watchdogs:
            watchdog.cancel()
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGINT, previous_handler)
