package pgserver

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// serverUser is the system user that initdb and the server run as when this
// process runs as root, because PostgreSQL refuses to run as root. Debian's
// postgresql package creates it.
const serverUser = "postgres"

// account is a system user that a child process runs as.
type account struct {
	name string
	uid  uint32
	gid  uint32
}

// serverAccount returns the account for initdb and the server: nil, meaning
// this process's own user, unless this process runs as root.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}

	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("pgserver: PostgreSQL does not run as root, and system user %s, "+
			"which runs it when this process is root, was not found: %w; install PostgreSQL, "+
			"which creates the user, or run as another user", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: invalid uid %q of system user %s: %w", u.Uid, serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: invalid gid %q of system user %s: %w", u.Gid, serverUser, err)
	}
	return &account{name: serverUser, uid: uint32(uid), gid: uint32(gid)}, nil
}
