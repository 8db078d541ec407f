"""The command table and the top-level help of ``sealer``: plain data, no click.

Every command's name, the module defining it and its one-line help; the group's help text and global options.
:mod:`sealer.cli.group` builds the click group from these, and ``sealer --help`` renders them without click
(:func:`top_level_help`, same text: a test compares the two).
"""

from __future__ import annotations

from sealer.cli import signals

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name alike)
if TYPE_CHECKING:
    import click

PROG = "sealer"
HELP_OPTION_NAMES = ("-h", "--help")
MAX_CONTENT_WIDTH = 100
HELP = """sealer: build, share and run cluster images.

A cluster image is one OCI image holding a Kubernetes rootfs, the applications
(manifests, Helm charts) and every container image they need, for offline delivery.

\b
Quick start:
  sealer build -b lite -t my-cluster:v1 .      # build ./Kubefile
  sealer images                               # list local cluster images
  sealer inspect my-cluster:v1                # layers, CMDs, cached images
  sealer push my-cluster:v1                   # share through a registry"""
ROOT_HELP = "Local image store (env SEALER_ROOT; default /var/lib/sealer as root, else ~/.local/share/sealer)."
DEBUG_HELP = "Show tracebacks and debug logs."

# Every command: its name -> (the module defining it, its one-line help). The module is imported only when the
# command runs or its own --help is asked; `sealer --help` lists the commands from this table alone (a test checks
# the table against the modules). Each module also exposes ``commands: list[click.Command]``.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("sealer.cli.build", "Build a cluster image from a Kubefile."),
    "images": ("sealer.cli.images", "List cluster images in the local store."),
    "inspect": ("sealer.cli.images", "Show a cluster image: layers with the instruction that made each, CMDs, "
                                     "cached images, Kubefile."),
    "tag": ("sealer.cli.images", "Give an image another name."),
    "rmi": ("sealer.cli.images", "Remove image names; blobs no remaining image references are deleted."),
    "save": ("sealer.cli.images", "Save images to one tar (an OCI image layout)."),
    "load": ("sealer.cli.images", "Load images from a tar; every digest is verified before anything becomes "
                                  "visible."),
    "export-rootfs": ("sealer.cli.images", "Unpack an image's rootfs (all layers applied in order) into DEST, a "
                                           "new or empty directory."),
    "login": ("sealer.cli.registry", "Log in to a registry: check the credentials, then store them (docker "
                                     "config.json / credential helper)."),
    "logout": ("sealer.cli.registry", "Remove the stored credentials of a registry."),
    "push": ("sealer.cli.registry", "Push a cluster image from the local store to a registry (DEST defaults to "
                                    "its own name)."),
    "pull": ("sealer.cli.registry", "Pull a cluster image from a registry into the local store."),
    "find-images": ("sealer.cli.discover", "Find the container images DIRECTORY needs (a build context or "
                                           "rootfs)."),
    "kubeadm-config": ("sealer.cli.cluster", "Print the kubeadm configuration a host would get from IMAGE and a "
                                             "Clusterfile."),
    "registry-proxy-config": ("sealer.cli.cluster", "Validate IMAGE's etc/registry_config.yaml and generate its "
                                                    "proxy configs."),
    "verify": ("sealer.cli.maintenance", "Check that every image cached in IMAGE's registry is complete."),
    "fsck": ("sealer.cli.store_cmds", "Verify every blob's digest and every image's completeness in the local "
                                      "store."),
    "gc": ("sealer.cli.store_cmds", "Delete blobs no image references, and leftovers of interrupted builds."),
    "run": ("sealer.cli.deliver", "Deliver cluster IMAGE (from the local store) onto hosts over SSH."),
    "apply": ("sealer.cli.deliver", "Make the hosts match a Clusterfile: deliver to new hosts, clean hosts it no "
                                    "longer lists."),
    "join": ("sealer.cli.deliver", "Add hosts to a delivered cluster (same image, same SSH settings)."),
    "delete": ("sealer.cli.deliver", "Remove hosts from a cluster, or the whole cluster (--all)."),
    "infra": ("sealer.cli.infra", "Cloud resources created by cluster builds (`-b cloud`)."),
    "version": ("sealer.cli.version", "Show sealer's version, the Python running it and the default build "
                                      "platform."),
}
COMMAND_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))




def load_command(name: str) -> click.Command | None:
    """Import the module of command ``name`` and return the command (None: not a sealer command)."""
    import importlib

    import click

    entry = COMMANDS.get(name)
    if entry is None:
        return None
    with signals.loading():
        module = importlib.import_module(entry[0])
    for cmd in module.commands:
        if cmd.name == name:
            assert isinstance(cmd, click.Command)
            return cmd
    raise AssertionError(f"{entry[0]} defines no command {name!r} (COMMANDS in sealer.cli.main is stale)")


def top_level_help(width: int | None = None) -> str:
    """The page ``sealer --help`` prints (without its final newline), as click renders it for the group in
    :mod:`sealer.cli.group`; ``width``: the formatter's (default: click's rule, from the terminal's columns)."""
    from sealer.cli import helptext

    options = [("--root PATH", ROOT_HELP), ("--debug", DEBUG_HELP), ("--version", helptext.VERSION_OPTION_HELP),
               (", ".join(HELP_OPTION_NAMES), helptext.HELP_OPTION_HELP)]
    return helptext.group_help(PROG, HELP, options, [(name, text) for name, (_, text) in sorted(COMMANDS.items())],
                               helptext.help_width(MAX_CONTENT_WIDTH) if width is None else width)
