"""Hostile and broken inputs shared by several suites."""

from __future__ import annotations

# "billion laughs": 9^9 strings from a few hundred bytes of YAML aliases (a top-level mapping).
BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

# The spec's custom join example, verbatim: `{ { - if .Master } }` is literal text, not an action.
SPEC_BROKEN_JOIN = """kind: JoinConfiguration
  { { - if .Master } }
controlPlane:
  localAPIEndpoint:
    advertiseAddress: {{.Master}}
    bindPort: 6443
  { { - end } }
nodeRegistration:
  criSocket: /var/run/dockershim.sock
"""
