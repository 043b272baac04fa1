"""Automated grading of neural-network coursework notebooks.

Data flows one way: notebook (intake) -> program (extraction) -> sandbox
outputs (sandbox, inside/) -> check results (checks) -> unit scores
(scoring) -> report (feedback, reports).
"""
