"""Child process that runs one ``PyNomad.optimize`` (started through ``process.NomadChild``).

Run as a script (``python child.py FD``), never imported by the library: a fresh
interpreter per NOMAD run gives isolation (a NOMAD segfault kills only this process),
determinism (NOMAD's RNG and caches are process-wide singletons) and no re-import of
the user's ``__main__`` (which the multiprocessing "spawn" start method would do).
It depends on the standard library and PyNomad only; in "local" mode (the standalone
reference run) it also unpickles the evaluator, which may import the package.

Protocol over the multiprocessing ``Connection`` on file descriptor FD:

    parent -> child  ("start", settings)            settings: see ``asktell._child_settings``
    child  -> parent ("block", seq, [[x...], ...])  points NOMAD wants evaluated
    parent -> child  ("values", seq, [line | None, ...])   "f c1 c2 ..." or None = failed
    child  -> parent ("known", seq, [[x...], ...])  static-surrogate values wanted (when
                                                     settings["surrogate"] is True)
    parent -> child  ("known", seq, [line | None, ...])
    parent -> child  ("stop",)                      instead of any reply: exit now
    child  -> parent ("done", result, history)       optimize() returned
    child  -> parent ("error", text)                 optimize() raised
"""

import os
import sys

# The script's own folder (hsearch/search/nomad) must not shadow anything on sys.path.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import pickle  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402


def _eval_points(block):
    """The evaluation points of a call: a block (BB_MAX_BLOCK_SIZE > 1) or a single point."""
    if hasattr(block, "get_x"):
        return [block.get_x(k) for k in range(block.size())]
    return [block]


def _apply(xs, lines):
    ok = []
    for x, line in zip(xs, lines):
        if line is None:
            ok.append(False)
        else:
            x.setBBO(line.encode())
            ok.append(True)
    return ok


def _remove_dir(holder):
    """Delete the folder in ``holder`` (a list of at most one path) with its files; empty it."""
    while holder:
        folder = holder.pop()
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def main():
    conn = Connection(int(sys.argv[1]))
    import PyNomad  # before the run's settings: a spare child waits ready

    try:
        message = conn.recv()
    except EOFError:
        return 0
    if not (isinstance(message, tuple) and message[0] == "start"):
        return 2
    settings = message[1]

    history = []  # (point, line-or-None) in evaluation order (local mode)
    seq = [0]
    x0_dir = []  # the temporary folder of the X0 file, while it exists
    evaluator = pickle.loads(settings["evaluator"]) if settings.get("evaluator") else None
    surrogate_spec = settings.get("surrogate")
    local_surrogate = (pickle.loads(surrogate_spec) if isinstance(surrogate_spec, bytes)
                       else None)

    def ask_parent(kind, pts):
        # one request to the parent, one reply of len(pts) output lines (None = failed)
        seq[0] += 1
        conn.send((kind, seq[0], pts))
        reply = conn.recv()
        if reply == ("stop",):
            os._exit(0)
        reply_kind, reply_seq, lines = reply
        expected = "values" if kind == "block" else kind
        if reply_kind != expected or reply_seq != seq[0] or len(lines) != len(pts):
            raise RuntimeError(f"protocol error: expected {expected} for request {seq[0]} of "
                               f"{len(pts)} points, got {reply!r:.200}")
        return lines

    def call_locally(function, pts, record):
        lines = []
        for p in pts:
            try:
                out = function(p)
            except Exception:
                out = None
            line = None if out is None else " ".join(repr(float(v)) for v in out)
            if record:
                history.append((p, line))
            lines.append(line)
        return lines

    def guarded(answer):
        # An exception escaping a *block* callback segfaults PyNomad 4.6.0, so nothing may
        # leave a callback but a list of block.size() booleans (a bool when NOMAD calls with a
        # single point, BB_MAX_BLOCK_SIZE 1). A broken protocol cannot be repaired from here:
        # report and exit hard, the parent replays.
        def callback(block):
            single = not hasattr(block, "get_x")
            n = 1 if single else block.size()
            try:
                xs = _eval_points(block)
                pts = [[x.get_coord(i) for i in range(x.size())] for x in xs]
                ok = _apply(xs, answer(pts))
                return ok[0] if single else ok
            except (EOFError, BrokenPipeError, ConnectionResetError):
                os._exit(0)  # the parent is gone: nothing to report to
            except BaseException:
                try:
                    conn.send(("error", traceback.format_exc()))
                except Exception:
                    pass
                sys.stderr.write(traceback.format_exc())
                sys.stderr.flush()
                os._exit(3)
            return False if single else [False] * n  # unreachable; keeps the contract explicit
        return callback

    def evaluate(pts):
        # NOMAD has read its X0 file before the first evaluation; the hard exits of `guarded`
        # skip every `finally`, so the file goes now
        _remove_dir(x0_dir)
        if evaluator is not None:
            return call_locally(evaluator, pts, record=True)
        return ask_parent("block", pts)

    def known(pts):
        # NOMAD's static surrogate: the same contract as the block callback (never raise)
        if local_surrogate is not None:
            return call_locally(local_surrogate, pts, record=False)
        return ask_parent("known", pts)

    blackbox = guarded(evaluate)
    surrogate = guarded(known)

    params = list(settings["params"])
    x0 = [list(p) for p in settings["x0"]]
    try:
        if len(x0) > 1:
            # several starting points: NOMAD reads them from a file, one per line
            x0_dir.append(tempfile.mkdtemp(prefix="hsearch-nomad-"))
            path = os.path.join(x0_dir[0], "x0.txt")
            with open(path, "w") as f:
                for p in x0:
                    f.write(" ".join(repr(float(v)) for v in p) + "\n")
            params.append(f"X0 {path}")
            start = []
        else:
            start = x0[0] if x0 else []
        try:
            args = [blackbox, start, list(settings["lower"]), list(settings["upper"]), params]
            if surrogate_spec:
                args.append(surrogate)
            result = PyNomad.optimize(*args)
        except Exception:
            conn.send(("error", traceback.format_exc()))
            return 1
        clean = {}
        for key, value in dict(result).items():
            clean[key] = value if isinstance(value, (int, float, str, list)) else repr(value)
        conn.send(("done", clean, history))
        return 0
    finally:
        _remove_dir(x0_dir)


if __name__ == "__main__":
    sys.stdout = sys.stderr  # keep stray prints off any inherited stdout
    code = main()
    sys.stderr.flush()
    os._exit(code)
