"""`python -m ipcbench.fleet_node run ...`: one node's run of a fleet (fleet.py starts it in a Ray
task): like `python -m ipcbench`, but it ends with the Ray task that started it."""

import sys

if __name__ == "__main__":
    from ipcbench import child, cli

    child._die_with_parent()  # SIGTERM: the run stops at the next cell boundary, file saved
    sys.exit(cli.main(sys.argv[1:]))
