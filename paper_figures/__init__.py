"""Reproduction of the paper's figures: one module per figure, each claim judged.

Run ``python -m paper_figures [--quick]``; see ``paper_figures/README.md``.
"""
