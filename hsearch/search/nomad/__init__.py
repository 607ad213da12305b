"""NOMAD's MADS core: ask/tell, no Ray (importing this package never imports ``ray``).

One module per job: ``settings`` (what defines a NOMAD run: settings, defaults, seeds),
``child`` (the script run in each NOMAD child process, and its pipe protocol), ``process``
(the parent's end of that pipe), ``asktell`` (:class:`MadsAskTell`: ask/tell driving the
child), ``answers`` (answers without training: duplicates by network, screening by the known
objective, the surrogate's values), ``restarts`` (when a NOMAD run stops: end or restart, and
from where), ``state`` (save/restore), ``standalone`` (a plain ``PyNomad.optimize`` run, the
reference for fidelity checks). Why it is built this way: ``docs/search-nomad.md``.
"""

from hsearch.search.nomad.asktell import MadsAskTell
from hsearch.search.nomad.settings import Evaluation, MadsSettings, NomadError
from hsearch.search.nomad.standalone import StandaloneRun, run_standalone

__all__ = ["Evaluation", "MadsAskTell", "MadsSettings", "NomadError", "StandaloneRun",
           "run_standalone"]
