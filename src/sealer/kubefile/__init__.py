"""The Kubefile: text -> logical lines with line numbers -> typed instructions. Pure; no I/O.

    >>> kf = parse("FROM kubernetes:v1.19.8\\nCOPY helm bin\\nCMD helm install charts/apollo\\n")
    >>> kf.base.image, [s.text for s in kf.steps]
    ('kubernetes:v1.19.8', ['COPY helm bin', 'CMD helm install charts/apollo'])

Every error is a :class:`sealer.errors.KubefileError` whose ``str`` is ``FILE:LINE: message``.
"""

from sealer.kubefile.instructions import (
    LABEL_SUPPORTED_KUBE_VERSION,
    SCRATCH,
    App,
    AppCmds,
    AppEnv,
    Arg,
    Cmd,
    Cmds,
    Copy,
    Env,
    From,
    Instruction,
    Kubefile,
    KubeVersion,
    Label,
    Launch,
    Location,
    Maintainer,
    Run,
)
from sealer.kubefile.lexer import MAX_FILE_BYTES, MAX_LINE_BYTES
from sealer.kubefile.parser import KEYWORDS, check_apps, parse, parse_file

__all__ = [
    "KEYWORDS",
    "LABEL_SUPPORTED_KUBE_VERSION",
    "App",
    "AppCmds",
    "AppEnv",
    "Arg",
    "Cmds",
    "Env",
    "KubeVersion",
    "Label",
    "Launch",
    "Maintainer",
    "check_apps",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "SCRATCH",
    "Cmd",
    "Copy",
    "From",
    "Instruction",
    "Kubefile",
    "Location",
    "Run",
    "parse",
    "parse_file",
]
