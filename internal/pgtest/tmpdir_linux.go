package pgtest

import (
	"os"
	"syscall"
)

// clusterParentDir is where the private cluster's directory is created:
// $PGTEST_DIR if set; else /dev/shm when it is a tmpfs with at least 2 GiB
// free (test databases are throwaway, and on VM disks CREATE DATABASE is
// several times slower even with fsync off); else os.TempDir().
func clusterParentDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil &&
		st.Type == tmpfsMagic && st.Bavail*uint64(st.Bsize) >= 2<<30 {
		return "/dev/shm"
	}
	return os.TempDir()
}
