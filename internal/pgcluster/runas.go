package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// runner runs the PostgreSQL binaries. As root it drops to an unprivileged
// user, because initdb and postgres refuse to run as root.
type runner struct {
	bin      string
	cred     *syscall.Credential // nil: run as ourselves
	userName string              // for error messages
}

func newRunner(bin string) (*runner, error) {
	r := &runner{bin: bin}
	if os.Geteuid() != 0 {
		return r, nil
	}
	u, err := unprivilegedUser()
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgcluster: user %s: %w", u.Username, err)
	}
	// Groups is empty on purpose: the child then has only the primary group,
	// which is what canSearch assumes.
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	r.userName = u.Username
	return r, nil
}

func unprivilegedUser() (*user.User, error) {
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
	}
	return nil, errors.New("pgcluster: running as root, but neither user postgres nor nobody exists " +
		"to run PostgreSQL as (apt-get install postgresql creates postgres)")
}

// command prepares one of the PostgreSQL binaries, running in dir (which the
// unprivileged user must be able to enter) with a minimal environment, so
// that PGDATA, PGPORT and friends from the caller cannot interfere.
func (r *runner) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(r.bin, name), args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + r.bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"LC_ALL=C", // English messages, so the log can be matched (see portInUse)
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		cmd.Env = append(cmd.Env, "TZ="+tz)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	// The postmaster that pg_ctl forks must never hold our output pipes open,
	// but if something does, do not hang forever in Wait.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// chownTree gives dir and everything below it to the unprivileged user.
func (r *runner) chownTree(dir string) error {
	if r.cred == nil {
		return nil
	}
	uid, gid := int(r.cred.Uid), int(r.cred.Gid)
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// checkTraversable verifies that the unprivileged user can reach dir, i.e.
// has search permission on every parent. A persistent Dir under /root would
// otherwise fail deep inside initdb with a confusing message.
func (r *runner) checkTraversable(dir string) error {
	if r.cred == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if !canSearch(fi, r.cred.Uid, r.cred.Gid) {
			return fmt.Errorf("pgcluster: PostgreSQL cannot run as root, so it runs as user %s, "+
				"which cannot reach %s because %s (mode %s) is not searchable for it; "+
				"use a directory under a world-traversable parent such as /var/tmp/hwlab-pg",
				r.userName, dir, p, fi.Mode().Perm())
		}
		if p == "/" || p == filepath.Dir(p) {
			return nil
		}
	}
}

// canSearch applies the classic owner/group/other execute bits (ACLs are
// ignored; they are rare on the directories in question).
func canSearch(fi fs.FileInfo, uid, gid uint32) bool {
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return true // cannot tell; let initdb report the problem
	case st.Uid == uid:
		return perm&0o100 != 0
	case st.Gid == gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
