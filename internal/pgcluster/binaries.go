package pgcluster

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
)

// ErrNoBinaries is wrapped by the error FindBinaries (and Start) return when
// no PostgreSQL server installation can be found. Test with errors.Is.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries not found")

// noBinariesHelp is the complete, user-facing message of the error returned
// when no binaries are found.
const noBinariesHelp = "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin. " +
	"Install them (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16) " +
	"or set DATABASE_URL to an existing server."

type noBinariesError struct{}

func (noBinariesError) Error() string { return noBinariesHelp }
func (noBinariesError) Unwrap() error { return ErrNoBinaries }

// searchGlobs are the well-known installation directories tried, after PATH,
// by FindBinaries. Variable so tests can replace it.
var searchGlobs = []string{
	"/usr/lib/postgresql/*/bin",         // Debian/Ubuntu
	"/usr/pgsql-*/bin",                  // RHEL/Fedora (PGDG)
	"/opt/homebrew/opt/postgresql*/bin", // Homebrew, Apple silicon
	"/usr/local/opt/postgresql*/bin",    // Homebrew, Intel
}

// requiredBinaries must all live in the same directory: pg_ctl locates the
// postgres executable next to itself.
var requiredBinaries = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres.
// It looks at PATH first (symlinks such as /usr/local/bin/initdb are resolved
// to the real installation directory), then in the well-known installation
// directories, highest PostgreSQL version first. If nothing is found the
// error wraps ErrNoBinaries and its message tells the user how to install
// PostgreSQL.
func FindBinaries() (dir string, err error) {
	return findBinaries(os.Getenv("PATH"), searchGlobs)
}

func findBinaries(pathEnv string, globs []string) (string, error) {
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue // never pick up binaries relative to the working directory
		}
		p := filepath.Join(d, exe("initdb"))
		if !isExecutable(p) {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		if dir := filepath.Dir(real); hasAllBinaries(dir) {
			return dir, nil
		}
		if hasAllBinaries(d) {
			return d, nil
		}
	}

	type candidate struct {
		dir     string
		version []int
		order   int
	}
	var cands []candidate
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if hasAllBinaries(m) {
				cands = append(cands, candidate{dir: m, version: versionOf(m), order: len(cands)})
			}
		}
	}
	if len(cands) == 0 {
		return "", noBinariesError{}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if c := slices.Compare(b.version, a.version); c != 0 {
			return c // highest version first
		}
		return cmp.Compare(a.order, b.order)
	})
	return cands[0].dir, nil
}

var digitsRE = regexp.MustCompile(`[0-9]+`)

// versionOf extracts the version numbers embedded in an installation path,
// e.g. /usr/lib/postgresql/15/bin -> [15], /usr/pgsql-9.6/bin -> [9 6],
// /opt/homebrew/opt/postgresql@16/bin -> [16].
func versionOf(dir string) []int {
	var v []int
	for _, s := range digitsRE.FindAllString(dir, -1) {
		n, err := strconv.Atoi(s)
		if err != nil {
			break
		}
		v = append(v, n)
	}
	return v
}

func hasAllBinaries(dir string) bool {
	for _, b := range requiredBinaries {
		if !isExecutable(filepath.Join(dir, exe(b))) {
			return false
		}
	}
	return true
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}
