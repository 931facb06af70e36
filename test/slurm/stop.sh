#!/usr/bin/env bash
# Stops the daemons start.sh started in DIR, by their pid files (never by name: another Slurm or
# munged on this host is left alone), and waits for them to exit.
#   usage: test/slurm/stop.sh DIR
set -uo pipefail
dir=$1
for name in slurmd slurmctld munged; do
  pidfile="$dir/$name.pid"
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
done
exit 0
