#!/usr/bin/env bash
# Local single-node SLURM for CI (Debian 12, run as root), kept apart from any SLURM already on the host.
#
#   bash .ci/slurm.sh up     install Debian's slurm-wlm if needed, write its own slurm.conf for this machine
#                            (node "localhost", all CPUs, RAM minus a margin, partition "debug") under $DIR,
#                            start slurmctld + slurmd with SLURM_CONF pointing there, wait until the node is
#                            idle, run a test job. Idempotent: if both daemons already run with the same
#                            config, it only re-checks; if the config changed, it restarts them. Exits
#                            non-zero on failure.
#   bash .ci/slurm.sh conf   print the path of that slurm.conf: clients (sbatch, squeue, scontrol, Snakemake's
#                            SLURM executor) reach this cluster with `export SLURM_CONF=$(bash .ci/slurm.sh conf)`.
#   bash .ci/slurm.sh down   stop the daemons this script started (scontrol shutdown, then their PIDs from its
#                            own pid files). Always exits 0.
#
# Why this shape:
# - Its own everything: config, pid files, logs and state live in $DIR (default /run/bvae-slurm, or
#   $BVAE_SLURM_DIR), its daemons listen on their own ports (6917/6918, not SLURM's 6817/6818) and are
#   found again only through its own pid files, checked against the process name and its SLURM_CONF. An
#   existing /etc/slurm/slurm.conf and any other slurmctld/slurmd on the host are left alone.
# - No munge: AuthType=auth/none + CredType=cred/none (both plugins ship in Debian 12's Slurm 22.05),
#   so no key or munged daemon is needed. Only safe on a throwaway single-user machine.
# - No accounting (no slurmdbd/database): `sacct` does not work here ("Slurm accounting storage is
#   disabled"), so job state must be read with `squeue` / `scontrol show job` while the job is known to
#   slurmctld (MinJobAge below keeps finished jobs visible for a while).
# - No systemd in CI containers, so the daemons are started directly in the background.
# - proctrack/linuxproc + task/none: no cgroups needed. cons_tres with CR_Core_Memory so --cpus-per-task
#   and --mem are scheduled; DefMemPerCPU keeps jobs without --mem from claiming the whole node;
#   EnforcePartLimits=ALL rejects jobs that can never fit (e.g. too many CPUs) instead of pending forever.
set -uo pipefail

DIR=${BVAE_SLURM_DIR:-/run/bvae-slurm}
CONF=$DIR/slurm.conf
LOGDIR=$DIR/log
CTLD_PID=$DIR/slurmctld.pid
SLURMD_PID=$DIR/slurmd.pid
export SLURM_CONF=$CONF # for the daemons started here and for the clients below

say() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: ERROR: $*" >&2; show_logs; exit 1; }
show_logs() {
    local f
    for f in "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log"; do
        [ -s "$f" ] && { echo "--- last lines of $f:" >&2; tail -n 15 "$f" >&2; }
    done
    return 0
}

ours() { # pidfile name -> 0 if the pid in the file is a running `name` started with this script's SLURM_CONF
    local pid
    [ -r "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] \
        && tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"
}

node_state() { timeout 10 sinfo -h -N -n localhost -o %T 2>/dev/null | head -n1; }

make_conf() {
    local cpus mem_total margin mem defmem
    cpus=$(nproc)
    mem_total=$(free -m | awk '/^Mem:/ {print $2}')
    # Leave room for the OS and the daemons: 5% but at least 512 MiB. slurmd drains the node if
    # RealMemory exceeds what it measures, so it must stay below the real total.
    margin=$(( mem_total / 20 )); [ "$margin" -lt 512 ] && margin=512
    mem=$(( mem_total - margin ))
    [ "$mem" -ge 256 ] || { echo "too little memory (${mem_total} MiB)" >&2; return 1; }
    defmem=$(( mem / cpus ))
    cat <<EOF
# written by .ci/slurm.sh (single-node CI cluster; no munge, no accounting)
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
ReturnToService=2
EnforcePartLimits=ALL
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
SlurmctldPort=6917
SlurmdPort=6918
StateSaveLocation=$DIR/slurmctld
SlurmdSpoolDir=$DIR/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
Waittime=0
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

stop_daemons() { # only the daemons whose pid files are ours; never by name
    local i
    if ours "$CTLD_PID" slurmctld; then
        timeout 10 scontrol shutdown >/dev/null 2>&1 || true
    fi
    for i in $(seq 1 20); do
        ours "$CTLD_PID" slurmctld || ours "$SLURMD_PID" slurmd || break
        sleep 0.5
        [ "$i" -eq 10 ] && signal_ours TERM  # shutdown did not reach them
    done
    signal_ours KILL
    rm -f "$CTLD_PID" "$SLURMD_PID"
    return 0
}

signal_ours() { # signal -> sent to each of our daemons still running
    local name pidfile
    for name in slurmctld slurmd; do
        pidfile=$DIR/$name.pid
        ours "$pidfile" "$name" && kill "-$1" "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}

cmd_up() {
    local t0 new restart=0 state i jobid out
    t0=$SECONDS
    [ "$(id -u)" -eq 0 ] || die "must run as root"

    if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1; then
        say "installing slurm-wlm (apt) ..."
        apt-get update -qq >/dev/null || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm >/tmp/slurm-apt.log 2>&1 \
            || { tail -n 20 /tmp/slurm-apt.log >&2; die "apt-get install slurm-wlm failed"; }
    fi
    say "$(slurmctld -V 2>/dev/null || echo 'slurm (unknown version)')"

    mkdir -p "$LOGDIR" "$DIR/slurmctld" "$DIR/slurmd" || die "cannot create directories"
    new=$(make_conf) || die "cannot compute node resources"
    if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$new" ]; then
        :
    else
        printf '%s\n' "$new" >"$CONF" || die "cannot write $CONF"
        say "wrote $CONF ($(grep -o 'CPUs=[0-9]* RealMemory=[0-9]*' "$CONF"))"
        restart=1
    fi

    if [ "$restart" -eq 0 ] && ours "$CTLD_PID" slurmctld && ours "$SLURMD_PID" slurmd; then
        say "slurmctld and slurmd already running"
    else
        stop_daemons
        say "starting slurmctld and slurmd ..."
        # -i: ignore unreadable state left by an earlier run. Both daemonize and write their pid files.
        slurmctld -i >>"$LOGDIR/slurmctld.start" 2>&1 || die "slurmctld failed to start (see $LOGDIR)"
        slurmd -N localhost >>"$LOGDIR/slurmd.start" 2>&1 || die "slurmd failed to start (see $LOGDIR)"
    fi

    state=""
    for i in $(seq 1 60); do
        state=$(node_state)
        case "$state" in
            idle|mixed|allocated|completing) break ;;
            drain*|down*|fail*)
                # ReturnToService=2 should handle this; nudge it anyway.
                timeout 10 scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
        esac
        ours "$CTLD_PID" slurmctld || die "slurmctld is not running"
        ours "$SLURMD_PID" slurmd || die "slurmd is not running"
        sleep 1
    done
    case "$state" in
        idle|mixed|allocated|completing) say "node localhost is $state" ;;
        *) timeout 10 scontrol show node localhost >&2 2>/dev/null || true
           die "node localhost did not become idle within 60 s (state: ${state:-unknown})" ;;
    esac

    out=$(timeout 60 srun -N1 -n1 -t 1 hostname 2>&1) || die "srun test failed: $out"
    # Batch path as Snakemake uses it: sbatch, then poll scontrol (sbatch --wait backs off to ~10 s polls).
    out=$(timeout 30 sbatch --parsable --cpus-per-task=1 --mem=100 -t 1 -J ci-smoke -o /dev/null \
        --wrap true 2>&1) || die "sbatch test failed: $out"
    jobid=${out##*$'\n'}; jobid=${jobid%%;*}
    state=""
    for i in $(seq 1 120); do
        state=$(timeout 10 scontrol show job -o "$jobid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
        case "$state" in
            COMPLETED) break ;;
            FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
                die "sbatch test job $jobid ended $state" ;;
        esac
        sleep 0.5
    done
    [ "$state" = COMPLETED ] || die "sbatch test job $jobid did not complete within 60 s (state: ${state:-unknown})"
    say "ready: srun and sbatch (job $jobid) work ($(( SECONDS - t0 )) s)"
}

case "${1:-}" in
    up) cmd_up ;;
    conf) echo "$CONF" ;;
    down) stop_daemons; say "stopped"; exit 0 ;;
    *) echo "usage: bash $0 up|conf|down" >&2; exit 2 ;;
esac
