"""Domain ideas that every layer shares: plain Python, no Qt, no file formats.

A concept used by the readers, the computations and the views (what kind of signal a
channel carries, which unit is a voltage, the keys a trace's attributes use and how their
values read, what "accepted" and "rejected" mean for a trace, how traces are numbered for a
person) lives here once, so that no layer repeats its rules. Nothing here imports another
part of Tracemark (an import-linter contract).
"""
