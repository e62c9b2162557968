//go:build !unix

package pgtest

// startWatchdog is Unix-only; elsewhere only Main stops the cluster.
func startWatchdog(pid int, pgData, dir string) {}
