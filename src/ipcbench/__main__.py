import sys

# Spawn and forkserver children re-import this module as __mp_main__: keep it free of work.
if __name__ == "__main__":
    from ipcbench.cli import main

    sys.exit(main())
