//go:build unix

package pgcluster

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCheckTraversable(t *testing.T) {
	const stranger = 2147480000 // a uid owning nothing, in no group
	base := tempDataDir(t)      // 0755
	open := filepath.Join(base, "open", "data")
	closed := filepath.Join(base, "closed", "data")
	for _, d := range []string{open, closed} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Dir(closed), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkTraversable(open, stranger, nil); err != nil {
		t.Errorf("open: %v", err)
	}
	err := checkTraversable(closed, stranger, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Dir(closed)) {
		t.Errorf("closed: err = %v, want error naming %s", err, filepath.Dir(closed))
	}
	// The owner may traverse its own 0700 directory.
	if err := checkTraversable(closed, uint32(os.Getuid()), nil); err != nil {
		t.Errorf("closed, as owner: %v", err)
	}

	// As root, Start must refuse such a directory with advice instead of
	// failing obscurely inside initdb.
	if os.Geteuid() == 0 {
		_, err := Start(t.Context(), Options{DataDir: closed})
		if err == nil || !strings.Contains(err.Error(), "CONTACTS_DATA_DIR") {
			t.Errorf("Start in non-traversable dir as root: err = %v", err)
		}
	}
}

// When running as root, PostgreSQL runs as user postgres, so a data directory
// inside the working tree (the usual default for `make run`) is only usable
// if postgres can traverse the path to it.
func TestWorkingTreeTraversableByPostgres(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only relevant when running as root (otherwise PostgreSQL runs as the current user)")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTraversable(wd, uint32(uid), []uint32{uint32(gid)}); err != nil {
		t.Errorf("user postgres cannot reach the working tree; a data directory inside it will not work as root: %v", err)
	}
}
