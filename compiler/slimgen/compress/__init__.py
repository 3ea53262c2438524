"""Torch-level model compression: pruning, distillation and QAT before ``slimgen build``.

``run.compress`` is the whole ``slimgen compress`` command; the modules below it are usable on
their own: ``prune`` (masks and schedule), ``channel`` (structured channel removal), ``distill``
(KD loss), ``qat`` (fake quantization matching slimgen's int8 contract), ``patterns`` (the block
shape shared with the sparse kernels).
"""
