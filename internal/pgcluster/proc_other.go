//go:build !unix

package pgcluster

import (
	"os"
	"os/exec"
)

// On non-Unix systems the binaries always run as the current user and the
// data directory is not locked.

type runAs struct{ name string }

func currentRunAs() (*runAs, error)          { return nil, nil }
func (*runAs) apply(*exec.Cmd)               {}
func (*runAs) chown(string) error            { return nil }
func (*runAs) chownTree(string) error        { return nil }
func (*runAs) checkTraversable(string) error { return nil }
func processAlive(pid int) bool              { return pid > 0 }
func lockDir(path string) (*os.File, error)  { return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) }
