# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# NAT lab: a sourced bash library that builds NAT topologies from Linux network namespaces.
# See docs/natlab.md for the topology, the address plan and the NAT kinds.
#
#   source tests/natlab/lab.sh
#   lab_init                 # run id, stale cleanup, EXIT trap (removes everything made)
#   lab_topology             # the standard topology (internet, public hosts, two NATed LANs)
#   lab_exec a  CMD...       # run CMD inside host "a" (namespace <run id>-a)
#   lab_spawn a LOG CMD...   # start CMD in the background inside "a"; killed by the trap
#
# Everything lives in namespaces named "${LAB_PREFIX}<pid>-<role>" (pid = the process that
# sourced this file), so parallel runs never collide and stale ones can be recognised. Veth
# pairs are created directly inside the namespaces (never in the host's), and only documentation
# ranges (203.0.113.0/24, 198.51.100.0/24) and private ranges are used: no packet leaves the lab.
# Requires root, iproute2 and iptables (nft or legacy backend).

LAB_PREFIX=${LAB_PREFIX:-sgl}
LAB_ID=""            # e.g. sgl12345
LAB_NAMESPACES=()    # every namespace this run made, in creation order
LAB_PIDS=()          # every background process lab_spawn started
LAB_PID_FILE=""      # the same, appended to by lab_spawn in subshells too (`x=$(start_agent …)`)
LAB_INET_IF=0        # counter for bridge-side veth names in the internet namespace
declare -gA LAB_NAT_KIND=()  # router role -> eim | symmetric
declare -gA LAB_LAN_NET=()   # router role -> its LAN prefix, e.g. 10.0.1.0/24
declare -gA LAB_DELAY_PID=() # router role -> pid of its delay stage (lab_set_delay)
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Address plan (docs/natlab.md).
LAB_INET_NET=203.0.113.0/24   # "the internet": public hosts
LAB_WAN_NET=198.51.100.0/24   # also on the internet bridge: routers' WAN addresses
LAB_RELAY_IP=203.0.113.10
LAB_PUB_IP=203.0.113.20
LAB_FW_IP=203.0.113.30
LAB_R1_WAN=198.51.100.1
LAB_R2_WAN=198.51.100.2
LAB_A_IP=10.0.1.10            # behind r1 (LAN 10.0.1.0/24, router 10.0.1.1)
LAB_B_IP=10.0.2.10            # behind r2 (LAN 10.0.2.0/24, router 10.0.2.1)

lab_log() { echo "natlab: $*" >&2; }

lab_ns() { echo "${LAB_ID}-$1"; }  # role -> namespace name

# Removes namespaces left by earlier runs whose creating process is gone (and kills what still
# runs in them: only lab processes can be inside a lab namespace).
lab_clear_stale() {
  local ns pid p
  while read -r ns _; do
    [[ "$ns" =~ ^${LAB_PREFIX}([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    if [[ "$pid" != "$$" ]] && ! kill -0 "$pid" 2>/dev/null; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null && lab_log "removed stale namespace $ns"
    fi
  done < <(ip netns list 2>/dev/null)
}

# Stops every process this run started and deletes every namespace it made (veths go with them).
# Nothing it killed is left running when it returns (tests/isolated.sh fails a test that leaves
# a process behind). Safe to call more than once.
lab_cleanup() {
  local p ns pids=("${LAB_PIDS[@]}") killed=()
  # Processes spawned inside a command substitution are not in LAB_PIDS (lost with the subshell).
  [[ -s "$LAB_PID_FILE" ]] && mapfile -t -O "${#pids[@]}" pids <"$LAB_PID_FILE"
  # lab_spawn records a pid in both lists: signal each process once (a second SIGTERM tells an
  # agent to stop at once, skipping the drain this cleanup means to give it).
  ((${#pids[@]})) && mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  # An agent drains for up to its shutdown grace (5 s) after SIGTERM: wait longer than that before
  # killing it, and then until it is gone (a process started in a command substitution is not our
  # child, so `wait` returns at once; tail --pid polls it).
  for p in "${pids[@]}"; do
    if ! timeout 10 tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null; then
      kill -KILL "$p" 2>/dev/null
      timeout 10 tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null
    fi
    wait "$p" 2>/dev/null || true
  done
  LAB_PIDS=()
  [[ -n "$LAB_PID_FILE" ]] && rm -f "$LAB_PID_FILE"
  for ns in "${LAB_NAMESPACES[@]}"; do
    # Anything else still inside (e.g. a probe started with lab_exec &) was started by this run.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null && killed+=("$p"); done
    ip netns del "$ns" 2>/dev/null || true
  done
  LAB_NAMESPACES=()
  # A killed process takes a moment to exit (an ASan binary has a large shadow to unmap).
  for p in "${killed[@]}"; do timeout 10 tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null; done
  return 0
}

# Lists the namespaces of this run that still exist (empty after lab_cleanup).
lab_leftovers() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${LAB_ID}-" || true
}

lab_init() {
  LAB_ID="${LAB_PREFIX}$$"
  LAB_PID_FILE="$(mktemp "${TMPDIR:-/tmp}/$LAB_ID.pids.XXXXXX")"
  lab_clear_stale
  trap 'lab_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

lab_exec() {  # lab_exec ROLE CMD...
  local role=$1
  shift
  ip netns exec "$(lab_ns "$role")" "$@"
}

lab_spawn() {  # lab_spawn ROLE LOGFILE CMD...  (sets LAB_LAST_PID)
  local role=$1 log=$2
  shift 2
  ip netns exec "$(lab_ns "$role")" "$@" >"$log" 2>&1 &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
  [[ -n "$LAB_PID_FILE" ]] && echo "$LAB_LAST_PID" >>"$LAB_PID_FILE"
  return 0
}

lab_new_ns() {  # lab_new_ns ROLE
  local ns
  ns=$(lab_ns "$1")
  ip netns add "$ns" || return 1
  LAB_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  # Hosts never forward; only routers turn this on (lab_router).
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
}

# The internet: a bridge inside its own namespace; nothing is linked to the host's network.
lab_internet() {
  lab_new_ns inet || return 1
  ip -n "$(lab_ns inet)" link add br0 type bridge || return 1
  ip -n "$(lab_ns inet)" link set br0 up
}

# Plugs interface IFNAME of ROLE's namespace into the internet bridge.
lab_plug() {  # lab_plug ROLE IFNAME
  local ns side
  ns=$(lab_ns "$1")
  LAB_INET_IF=$((LAB_INET_IF + 1))
  side="p$LAB_INET_IF"
  ip -n "$ns" link add "$2" type veth peer name "$side" netns "$(lab_ns inet)" || return 1
  ip -n "$(lab_ns inet)" link set "$side" master br0
  ip -n "$(lab_ns inet)" link set "$side" up
  ip -n "$ns" link set "$2" up
}

# Both internet ranges share one bridge segment: each side reaches the other range on-link.
lab_internet_routes() {  # lab_internet_routes ROLE IFNAME OWN_NET
  local ns
  ns=$(lab_ns "$1")
  if [[ "$3" == "$LAB_INET_NET" ]]; then
    ip -n "$ns" route add "$LAB_WAN_NET" dev "$2"
  else
    ip -n "$ns" route add "$LAB_INET_NET" dev "$2"
  fi
}

# A public host on the internet: lab_public_host ROLE IP (in 203.0.113.0/24).
lab_public_host() {
  lab_new_ns "$1" || return 1
  lab_plug "$1" eth0 || return 1
  ip -n "$(lab_ns "$1")" addr add "$2/24" dev eth0
  lab_internet_routes "$1" eth0 "$LAB_INET_NET"
}

# A public host with no NAT whose INPUT drops every new inbound connection (silently).
lab_firewalled_host() {  # lab_firewalled_host ROLE IP
  lab_public_host "$1" "$2" || return 1
  lab_exec "$1" iptables -A INPUT -i lo -j ACCEPT
  lab_exec "$1" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_exec "$1" iptables -A INPUT -j DROP
}

# Sets (or changes) a router's NAT kind: eim = MASQUERADE (endpoint-independent mapping, keeps
# the source port when free), symmetric = MASQUERADE --random-fully (a random port per flow).
lab_set_nat() {  # lab_set_nat ROUTER KIND
  local extra=()
  case "$2" in
    eim) ;;
    symmetric) extra=(--random-fully) ;;
    *) lab_log "unknown NAT kind '$2' (eim | symmetric)"; return 1 ;;
  esac
  lab_exec "$1" iptables -t nat -F POSTROUTING
  lab_exec "$1" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${extra[@]}" || return 1
  LAB_NAT_KIND[$1]=$2
}

# A router: WAN on the internet bridge (198.51.100.0/24), a LAN with one host behind it.
#   lab_router ROUTER KIND WAN_IP LAN_PREFIX HOST_ROLE   e.g. lab_router r1 eim 198.51.100.1 10.0.1 a
# LAN: LAN_PREFIX.0/24, router LAN_PREFIX.1, host LAN_PREFIX.10. Unsolicited inbound packets
# (to the router or through it) are dropped silently, as home routers do: DROP, not REJECT.
lab_router() {
  local r=$1 kind=$2 wan_ip=$3 lan=$4 host=$5 rns hns
  lab_new_ns "$r" || return 1
  lab_new_ns "$host" || return 1
  rns=$(lab_ns "$r")
  hns=$(lab_ns "$host")
  LAB_LAN_NET[$r]="$lan.0/24"
  lab_plug "$r" wan || return 1
  ip -n "$rns" addr add "$wan_ip/24" dev wan
  lab_internet_routes "$r" wan "$LAB_WAN_NET"
  ip -n "$rns" link add lan type veth peer name eth0 netns "$hns" || return 1
  ip -n "$rns" addr add "$lan.1/24" dev lan
  ip -n "$rns" link set lan up
  ip -n "$hns" addr add "$lan.10/24" dev eth0
  ip -n "$hns" link set eth0 up
  ip -n "$hns" route add default via "$lan.1"
  ip netns exec "$rns" sysctl -qw net.ipv4.ip_forward=1
  lab_exec "$r" iptables -P FORWARD ACCEPT
  lab_exec "$r" iptables -A FORWARD -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_exec "$r" iptables -A FORWARD -i wan -j DROP
  lab_exec "$r" iptables -A FORWARD -i lan -o wan -j ACCEPT
  lab_exec "$r" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_exec "$r" iptables -A INPUT -i wan -j DROP
  lab_set_nat "$r" "$kind"
}

# Delay and loss on a router (docs/natlab.md, "Delay and loss"): this kernel has no netem, so a
# userspace stage does it. tests/natlab/delay.py owns a TUN device (tun0) in the router's
# namespace and holds every packet it reads for MS ms (drops LOSS % at random) before writing it
# back. Policy routing sends every packet forwarded between lan and wan through tun0 once:
#   ip rule iif lan -> table 100, ip rule iif wan -> table 100; table 100: default dev tun0
# (the local table, pref 0, comes first: packets to the router itself are not delayed); what
# comes back out of tun0 (iif tun0) uses the main table. So a forwarded packet crosses FORWARD
# twice: lan -> tun0 -> wan outbound, wan -> tun0 -> lan inbound. NAT must see it once, at the
# WAN edge: the raw table marks the LAN-side pass NOTRACK (outbound: arriving on lan, not for
# the router; inbound: back from tun0 towards the LAN prefix). Then conntrack, MASQUERADE on
# leaving wan and the "-i wan" FORWARD rules (ESTABLISHED,RELATED accepted, the rest dropped)
# work exactly as without the stage, and connections survive switching the stage on or off.
# The delay sits between the NAT and its LAN, in both directions (like a slow access link).
#   lab_set_delay ROUTER MS [LOSS_PERCENT]   (re)starts the stage; MS 0 with no loss removes it
# Call it from the main shell, not a subshell: the stage's pid is kept for lab_cleanup.
lab_set_delay() {
  local r=$1 ms=$2 loss=${3:-0} rns log pid i
  rns=$(lab_ns "$r")
  [[ -n "${LAB_LAN_NET[$r]:-}" ]] || { lab_log "lab_set_delay: $r is not a router"; return 1; }
  [[ "$ms" =~ ^[0-9]+(\.[0-9]+)?$ && "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    { lab_log "lab_set_delay: MS and LOSS_PERCENT must be numbers"; return 1; }
  if [[ -n "${LAB_DELAY_PID[$r]:-}" ]]; then  # remove the current stage: routing first, then the process
    ip -n "$rns" rule del pref 100 2>/dev/null
    ip -n "$rns" rule del pref 101 2>/dev/null
    lab_exec "$r" iptables -t raw -F PREROUTING
    pid=${LAB_DELAY_PID[$r]}
    kill -TERM "$pid" 2>/dev/null
    timeout 5 tail --pid="$pid" -s 0.05 -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    LAB_DELAY_RC=$?
    for i in "${!LAB_PIDS[@]}"; do [[ "${LAB_PIDS[$i]}" == "$pid" ]] && unset 'LAB_PIDS[i]'; done
    unset 'LAB_DELAY_PID[$r]'
  fi
  if [[ "$ms" =~ ^0+(\.0+)?$ && "$loss" =~ ^0+(\.0+)?$ ]]; then
    return 0
  fi
  log="${LAB_DELAY_LOG_DIR:-/tmp}/${LAB_ID}-$r-delay.log"
  rm -f "$log"  # lab_spawn truncates it in the background: never read an earlier stage's "ready"
  lab_spawn "$r" "$log" python3 "$LAB_DIR/delay.py" --dev tun0 --delay-ms "$ms" --loss "$loss" || return 1
  LAB_DELAY_PID[$r]=$LAB_LAST_PID
  lab_wait_line "$log" '^ready tun0' 10 >/dev/null || { lab_log "lab_set_delay: the stage on $r did not start: $(cat "$log")"; return 1; }
  ip -n "$rns" link set tun0 up || return 1
  for i in all default lan wan tun0; do
    ip netns exec "$rns" sysctl -qw "net.ipv4.conf.$i.rp_filter=0" || return 1
  done
  ip -n "$rns" route replace default dev tun0 table 100 || return 1
  lab_exec "$r" iptables -t raw -A PREROUTING -i lan -m addrtype ! --dst-type LOCAL -j CT --notrack || return 1
  lab_exec "$r" iptables -t raw -A PREROUTING -i tun0 -d "${LAB_LAN_NET[$r]}" -j CT --notrack || return 1
  ip -n "$rns" rule add pref 100 iif lan lookup 100 || return 1
  ip -n "$rns" rule add pref 101 iif wan lookup 100 || return 1
}

# Packets counted by the DROP rule for inbound WAN traffic in CHAIN (FORWARD or INPUT).
lab_drop_count() {  # lab_drop_count ROLE CHAIN [IN_IF]
  lab_exec "$1" iptables -L "$2" -v -n -x |
    awk -v want="${3:-wan}" '$3 == "DROP" && ($6 == want || want == "*") { n += $1 } END { print n + 0 }'
}

# The standard topology: internet bridge; relay 203.0.113.10, pub 203.0.113.20, firewalled
# fw 203.0.113.30; a (10.0.1.10) behind r1 (WAN 198.51.100.1, KIND1) and b (10.0.2.10) behind
# r2 (WAN 198.51.100.2, KIND2).
lab_topology() {  # lab_topology [KIND1] [KIND2]
  lab_internet || return 1
  lab_public_host relay "$LAB_RELAY_IP" || return 1
  lab_public_host pub "$LAB_PUB_IP" || return 1
  lab_firewalled_host fw "$LAB_FW_IP" || return 1
  lab_router r1 "${1:-eim}" "$LAB_R1_WAN" 10.0.1 a || return 1
  lab_router r2 "${2:-eim}" "$LAB_R2_WAN" 10.0.2 b || return 1
}

# Waits until FILE has a line matching REGEX (or TIMEOUT seconds pass); prints the line.
lab_wait_line() {  # lab_wait_line FILE REGEX TIMEOUT
  local deadline=$((SECONDS + $3)) line
  while ((SECONDS <= deadline)); do
    if [[ -f "$1" ]] && line=$(grep -E -m1 -- "$2" "$1"); then
      echo "$line"
      return 0
    fi
    sleep 0.05
  done
  return 1
}
