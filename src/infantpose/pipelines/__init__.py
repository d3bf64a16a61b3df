"""The workflow of each ``infantpose`` command, callable without the command line.

One module per command (``predict``, ``train``, ``adapt``, ``evaluate``, ``label``, ``synth``,
``convert``, ``features``, ``risk``, ``models``, ``examples``, ``schemas``; ``video`` for
``batch``, ``deidentify``, ``filter`` and ``overlay``). Each holds a small dataclass of
options (``TrainOptions``, ...), one or more functions that take it, check every input before
anything is written, do the work, and return a result object; the ``cli/`` modules only parse
the command line into the options, call the function and print the result. Messages that must
appear while a long job runs (a reused pseudo-label set, say) go to a ``log`` callback.

Nothing is imported here, so ``import infantpose.pipelines.train`` pulls in training alone.
"""
