"""The typed configuration of one ray-platform stack.

A stack file (``stacks/Pulumi.<stack>.yaml``) holds keys under the ``ray-platform:`` namespace. Each key
is validated by its own model (shape, types, and the rules within it), and the rules that span keys run on
the raw keys whatever else failed, so every problem is reported at once with its key path, for example
``gpuPools[1].maxSize: must be >= minSize (2)``. Nothing is built while any remains.

One module per concern: ``pools``, ``cluster``, the clouds (``aws``, ``gcp``, ``existing``), ``storage``,
``observability``, ``teams``; ``platform`` holds them together, ``rules`` the cross-key rules, ``errors``
and ``loading`` the error lines and the reading of a stack. Imports ``catalog`` only.
"""
