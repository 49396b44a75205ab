"""The loopback federation launcher behind scripts/fl-launch.

- configuration: the command line, the hospitals, keys and the coordinator and worker configs;
- processes: starting, logging and supervising the coordinator and worker processes;
- report: the printed results (per-hospital tables, verdict, cross-site table, global test set);
- launcher: main, which runs a federation and its baselines from start to summary.
"""
