//go:build unix

package main

import "syscall"

// raiseOpenFiles makes sure this process may hold n open files, raising the
// soft limit (and the hard one when privileged) if needed.
func raiseOpenFiles(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		lim.Max = n // needs privilege (CAP_SYS_RESOURCE)
	}
	lim.Cur = n
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
