"""``python -m ttfs_deploy`` and the ``ttfs-deploy`` console script.

Signals are turned into exceptions before the command line (click, rich, torch) is even
imported, so an interrupt at any moment ends in one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys

from ttfs_deploy.signals import Interrupted, raise_on_termination


def main() -> None:
    raise_on_termination()
    try:
        import click

        from ttfs_deploy.cli import cli

        try:
            code = cli.main(prog_name="ttfs-deploy", standalone_mode=False)
        except click.ClickException as err:  # usage errors: click's message, exit 2
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
    except Interrupted as err:  # before or after a command ran (inside one, the CLI reports it)
        sys.stderr.write(f"error: interrupted by {err.name}\n")
        sys.exit(128 + err.signum)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
