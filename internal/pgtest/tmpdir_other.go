//go:build !linux

package pgtest

import "os"

// clusterParentDir is where the private cluster's directory is created:
// $PGTEST_DIR if set, else os.TempDir().
func clusterParentDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return os.TempDir()
}
