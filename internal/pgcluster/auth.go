package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// hbaConf is the cluster's whole pg_hba.conf, rewritten at every start:
// nothing is trusted, neither the socket nor loopback TCP (any OS user of
// the machine can open 127.0.0.1).
const hbaConf = `# Written by pgcluster at every start; edits are lost.
# Every connection authenticates with the superuser's password (pg-password).
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
`

// ensureAuth gives the superuser a password when it has none yet (a new
// cluster, or one created by an earlier version with --auth=trust) and
// rewrites pg_hba.conf. The server is not running: the password is set in
// single-user mode, so no connection is ever accepted without it, not even
// during the upgrade.
func (c *Cluster) ensureAuth(ctx context.Context) error {
	pwPath := filepath.Join(c.dataDir, passwordFile)
	pw, err := readPassword(pwPath)
	if err != nil {
		return err
	}
	if pw == "" {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return fmt.Errorf("pgcluster: generating a password: %w", err)
		}
		pw = hex.EncodeToString(raw)
		if err := c.setPassword(ctx, pw); err != nil {
			return err
		}
		// Written once the role has it: a crash in between only means a new
		// password next time.
		if err := writeFileAtomic(pwPath, []byte(pw+"\n"), 0o600); err != nil {
			return fmt.Errorf("pgcluster: saving the password: %w", err)
		}
		c.log.Info("postgres superuser password set (password authentication required from now on)", "file", pwPath)
	}
	c.password = pw
	hba := filepath.Join(c.pgData, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(hbaConf), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.runAs.chown(hba); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// setPassword runs ALTER ROLE in a single-user backend (postgres --single):
// it needs no connection, hence no authentication.
func (c *Cluster) setPassword(ctx context.Context, pw string) error {
	if err := c.runAs.chownTree(c.pgData); err != nil {
		return fmt.Errorf("pgcluster: giving %s to the postgres user: %w", c.pgData, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, exe("postgres")),
		"--single", "-D", c.pgData, "-c", "password_encryption=scram-sha-256", "-c", "listen_addresses=", "postgres")
	cmd.Dir = c.dataDir
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 10 * time.Second
	// The password is hex: no quoting issue.
	cmd.Stdin = strings.NewReader("ALTER ROLE postgres PASSWORD '" + pw + "';\n")
	c.runAs.apply(cmd)
	out, err := cmd.CombinedOutput()
	// A failed statement does not fail the single-user backend's exit status.
	if err == nil && (bytes.Contains(out, []byte("ERROR:")) || bytes.Contains(out, []byte("FATAL:"))) {
		err = errors.New("statement failed")
	}
	if err != nil {
		return c.cmdError("setting the superuser password (postgres --single)", err, bytes.ReplaceAll(out, []byte(pw), []byte("***")), -1)
	}
	return nil
}

// readPassword returns the saved password, "" when there is none yet.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("pgcluster: reading the password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, perm); err != nil {
		return err
	}
	if err := os.Chmod(tmp, perm); err != nil { // an older tmp file may have other bits
		return err
	}
	return os.Rename(tmp, path)
}
