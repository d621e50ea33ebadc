package pgserver

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianLibRoot is the directory under which Debian and Ubuntu install each
// PostgreSQL major version, as <root>/<version>/bin.
const debianLibRoot = "/usr/lib/postgresql"

// binaries contains the paths of the PostgreSQL programs that Start runs.
type binaries struct {
	initdb   string
	postgres string
}

// defaultBinDirs returns the directories searched when [Options.BinDirs] is
// nil: the entries of pathList, then <libRoot>/*/bin from the highest
// version down.
func defaultBinDirs(pathList, libRoot string) []string {
	var dirs []string
	for _, dir := range filepath.SplitList(pathList) {
		if dir != "" {
			dirs = append(dirs, dir)
		}
	}

	versioned, _ := filepath.Glob(filepath.Join(libRoot, "*", "bin"))
	slices.SortFunc(versioned, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	return append(dirs, versioned...)
}

// compareVersions compares dotted version numbers such as "9.6" and "15"
// numerically, part by part. A part that is not a number sorts below any
// number.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		x, y := versionPart(as, i), versionPart(bs, i)
		if x != y {
			return x - y
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil {
		return -1
	}
	return n
}

// findBinaries returns initdb and postgres from the first of dirs that
// contains both as executable files. The error names the search as where.
func findBinaries(dirs []string, where string) (binaries, error) {
	for _, dir := range dirs {
		b := binaries{
			initdb:   filepath.Join(dir, "initdb"),
			postgres: filepath.Join(dir, "postgres"),
		}
		if isExecutable(b.initdb) && isExecutable(b.postgres) {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf(
		"%w in %s: install PostgreSQL (for example apt-get install postgresql) or use an existing server through a DSN",
		ErrBinariesNotFound, where)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
