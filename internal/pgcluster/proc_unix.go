//go:build unix

package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// runAs is the identity PostgreSQL binaries are run as when this process is
// root (PostgreSQL refuses to run as root). nil means "as the current user".
type runAs struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

func currentRunAs() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, but PostgreSQL refuses to run as root and there is no "+
			"\"postgres\" system user to run it as (%v); create one (e.g. useradd --system --home-dir /var/lib/postgresql postgres) "+
			"or run as an unprivileged user", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgcluster: parsing ids of user postgres: %w", err)
	}
	r := &runAs{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				r.groups = append(r.groups, uint32(g))
			}
		}
	}
	return r, nil
}

// apply makes cmd run with r's identity (equivalent to runuser -u postgres --,
// without depending on runuser/su being installed).
func (r *runAs) apply(cmd *exec.Cmd) {
	if r == nil {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: r.uid, Gid: r.gid, Groups: r.groups,
	}}
}

// chown gives p to r (no-op when r is nil).
func (r *runAs) chown(p string) error {
	if r == nil {
		return nil
	}
	return os.Lchown(p, int(r.uid), int(r.gid))
}

// chownTree recursively gives root to r (no-op when r is nil).
func (r *runAs) chownTree(root string) error {
	if r == nil {
		return nil
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(r.uid), int(r.gid))
	})
}

// checkTraversable verifies, from the permission bits and owners of dir and
// all its ancestors, that r can search (traverse) every one of them. ACLs are
// not considered.
func (r *runAs) checkTraversable(dir string) error {
	if r == nil {
		return nil
	}
	return checkTraversable(dir, r.uid, append([]uint32{r.gid}, r.groups...))
}

func checkTraversable(dir string, uid uint32, gids []uint32) error {
	dir = filepath.Clean(dir)
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		var can bool
		switch {
		case st.Uid == uid:
			can = perm&0o100 != 0
		case containsGID(gids, st.Gid):
			can = perm&0o010 != 0
		default:
			can = perm&0o001 != 0
		}
		if !can {
			return fmt.Errorf("%s (mode %#o, owner uid %d) is not traversable by uid %d", p, perm, st.Uid, uid)
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}

func containsGID(gids []uint32, g uint32) bool {
	for _, x := range gids {
		if x == g {
			return true
		}
	}
	return false
}

// processAlive reports whether pid looks like a live PostgreSQL server
// process. On Linux the process name is checked too, so a recycled PID that
// now belongs to an unrelated process counts as dead.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS == "linux" {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
			comm := strings.TrimSpace(string(b))
			return comm == "postgres" || comm == "postmaster"
		}
	}
	return true
}

// lockDir takes an exclusive, non-blocking flock on path (created if
// needed). The kernel releases it when the process dies, so a crashed
// previous run never leaves the data directory locked.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}
