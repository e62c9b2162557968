//go:build unix

package pgtest

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// watchdogScript waits for the test binary ($1) to exit, then fast-shuts-down
// the postmaster recorded in $2/postmaster.pid (if still running) and removes
// the cluster directory $3. After a normal pgtest.Main run the server is
// already stopped and the directory gone, so it just exits.
const watchdogScript = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ -f "$2/postmaster.pid" ]; then
	pm=$(head -n 1 "$2/postmaster.pid")
	if [ -n "$pm" ] && kill -INT "$pm" 2>/dev/null; then
		i=0
		while kill -0 "$pm" 2>/dev/null && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i+1)); done
	fi
fi
rm -rf "$3"
`

// startWatchdog launches the watchdog in its own session, with no stdio
// inherited (go test waits for the test binary's output pipes to close, so a
// child holding them would hang it). Failure to launch is not fatal: Main
// still stops the cluster in the normal case.
func startWatchdog(pid int, pgData, dir string) {
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "pgtest-watchdog", strconv.Itoa(pid), pgData, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = os.TempDir()
	if err := cmd.Start(); err != nil {
		return
	}
	_ = cmd.Process.Release()
}
