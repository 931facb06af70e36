#!/usr/bin/env bash
# Starts a throw-away single-node Slurm (munged, slurmctld, slurmd) with config, state, logs and
# pid files under DIR, then waits until the node accepts jobs. Prints `export SLURM_CONF=...`;
# clients (sbatch, squeue) find the cluster through that variable. Stop it with stop.sh DIR.
#   usage: test/slurm/start.sh DIR
# Needs root (SlurmUser=root) and Debian's slurm-wlm and munge packages.
set -euo pipefail
dir=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
for cmd in munged slurmctld slurmd sbatch sinfo; do
  command -v "$cmd" >/dev/null || { echo "start.sh: $cmd not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
mkdir -p "$dir"/{munge,state,spool,log}
# munged refuses keys and sockets in group- or world-writable folders.
chmod 700 "$dir" "$dir/munge"

# A fresh key, so this cluster never talks to a real one on the same host.
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"

# Free ports, so a Slurm already running here (or a parallel test) is not disturbed.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
  || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
host=$(hostname -s)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$(nproc)|g" -e "s|@MEM@|$mem|g" \
    -e "s|@CTLD_PORT@|$(free_port)|g" -e "s|@SLURMD_PORT@|$(free_port)|g" \
    "$here/slurm.conf.in" > "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"

# -i: ignore state left by an earlier cluster in this folder.
slurmctld -i
slurmd

# Ready when the node is idle (slurmd registered with the controller).
for _ in $(seq 1 60); do
  if [ "$(sinfo -h -N -o '%t' 2>/dev/null | head -1)" = idle ]; then
    echo "export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 0.5
done
echo "start.sh: the node did not become idle within 30 s; logs in $dir/log" >&2
sinfo -N >&2 || true
exit 4
