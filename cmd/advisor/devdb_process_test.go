//go:build integration

package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// devProcess is a real `advisor` process run in a checkout directory, with
// no HWLAB_* variable, so --dev-db means that checkout's dev cluster.
type devProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	seen chan struct{} // closed and replaced whenever a line arrives
	done chan error
}

func startDevProcess(t *testing.T, bin, repo string, args ...string) *devProcess {
	t.Helper()
	return startProcess(t, bin, repo, nil, args...)
}

// startProcess runs bin in dir with the test's environment, less its
// HWLAB_* and ADVISOR_* variables, plus env.
func startProcess(t *testing.T, bin, dir string, env []string, args ...string) *devProcess {
	t.Helper()
	p := &devProcess{cmd: exec.Command(bin, args...), seen: make(chan struct{}), done: make(chan error, 1)}
	p.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HWLAB_") && !strings.HasPrefix(kv, "ADVISOR_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			close(p.seen)
			p.seen = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	// done only once every line is in the log: a caller that sees the
	// exit may look for the last line at once.
	go func() { err := p.cmd.Wait(); w.Close(); <-scanned; p.done <- err }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *devProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor returns the first match of re in the output, waiting for the
// line (or failing when the process exits without it).
func (p *devProcess) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(3 * time.Minute)
	for {
		p.mu.Lock()
		m, seen := re.FindStringSubmatch(p.log.String()), p.seen
		p.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-seen:
		case err := <-p.done:
			p.done <- err
			if m := re.FindStringSubmatch(p.output()); m != nil {
				return m
			}
			t.Fatalf("process exited (%v) without %q:\n%s", err, re, p.output())
		case <-timeout:
			t.Fatalf("no %q after 3 minutes:\n%s", re, p.output())
		}
	}
}

// exit waits for the process to end and returns its error.
func (p *devProcess) exit(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(3 * time.Minute):
		t.Fatalf("process still running after 3 minutes:\n%s", p.output())
		return nil
	}
}

func (p *devProcess) interrupt(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return p.exit(t)
}

const leftRunning = `msg="dev cluster: left running`

var (
	servingRe = regexp.MustCompile(`msg=serving url=(http://\S+)/`)
	readyRe   = regexp.MustCompile(`msg="dev cluster: ready" port=(\d+)`)
)

// devCheckout is an empty checkout for the dev cluster, removed with its
// cluster (whose server the test has stopped, or kills here) at the end.
func devCheckout(t *testing.T) (repo, clusterDir string) {
	t.Helper()
	repo = t.TempDir()
	for d := repo; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir's dirs are 700: let the PostgreSQL user in
	}
	clusterDir, _ = devDir(repo)
	t.Cleanup(func() {
		if pid := postmasterPID(clusterDir); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(clusterDir)
	})
	return repo, clusterDir
}

// postmasterPID is the pid in the cluster's postmaster.pid when that
// process lives, else 0.
func postmasterPID(clusterDir string) int {
	b, err := os.ReadFile(filepath.Join(clusterDir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func createConversation(t *testing.T, base string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/conversations", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestDevDBSharedByProcesses: two real `advisor serve --dev-db` share one
// dev cluster. However the second one ends (Ctrl-C, failing to bind the
// first's address, SIGKILL), the first keeps its database, and when the
// first one leaves as the last user, the server stops. A CLI command with
// --dev-db reaches the same database beside them, and the next start keeps
// the cluster's port.
func TestDevDBSharedByProcesses(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	for _, tt := range []struct {
		name string
		// second starts the second process and ends it.
		second func(t *testing.T, repo, firstAddr string)
	}{
		{"ctrl-c", func(t *testing.T, repo, _ string) {
			b := startDevProcess(t, bin, repo, "serve", "--dev-db", "--addr", "127.0.0.1:0")
			b.waitFor(t, regexp.MustCompile(`msg="dev cluster: ready" .*server="shared`))
			b.waitFor(t, servingRe)
			if err := b.interrupt(t); err != nil || !strings.Contains(b.output(), leftRunning) {
				t.Errorf("second serve: %v\n%s", err, b.output())
			}
		}},
		{"bind fails", func(t *testing.T, repo, firstAddr string) {
			b := startDevProcess(t, bin, repo, "serve", "--dev-db", "--addr", strings.TrimPrefix(firstAddr, "http://"))
			if err := b.exit(t); err == nil || !strings.Contains(b.output(), "address already in use") || !strings.Contains(b.output(), leftRunning) {
				t.Errorf("second serve on the first's address: %v\n%s", err, b.output())
			}
		}},
		{"sigkill", func(t *testing.T, repo, _ string) {
			b := startDevProcess(t, bin, repo, "serve", "--dev-db", "--addr", "127.0.0.1:0")
			b.waitFor(t, servingRe)
			_ = b.cmd.Process.Kill()
			_ = b.exit(t) // it has no say; its lease must not keep the server up
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo, clusterDir := devCheckout(t)
			a := startDevProcess(t, bin, repo, "serve", "--dev-db", "--addr", "127.0.0.1:0")
			port := a.waitFor(t, readyRe)[1]
			addr := a.waitFor(t, servingRe)[1]
			if strings.Contains(a.output(), `server="shared`) {
				t.Errorf("the first process says it shares a server:\n%s", a.output())
			}
			server := postmasterPID(clusterDir)
			if server == 0 {
				t.Fatalf("no postmaster running in %s", clusterDir)
			}

			tt.second(t, repo, addr)
			// The first one's database is still there.
			if code := createConversation(t, addr); code != http.StatusCreated {
				t.Fatalf("first serve after the second left: %d\nfirst:\n%s", code, a.output())
			}
			if postmasterPID(clusterDir) != server {
				t.Fatal("the server under the first process changed")
			}

			// A CLI command beside it, on the same database.
			ls := startDevProcess(t, bin, repo, "conversations", "ls", "--dev-db")
			if err := ls.exit(t); err != nil || strings.Count(ls.output(), "\n") != 2 {
				t.Errorf("conversations ls --dev-db beside serve: %v\n%s", err, ls.output())
			}
			if code := createConversation(t, addr); code != http.StatusCreated {
				t.Fatalf("first serve after the CLI left: %d", code)
			}

			// The last one out stops the server.
			if err := a.interrupt(t); err != nil {
				t.Errorf("first serve: %v\n%s", err, a.output())
			}
			if !strings.Contains(a.output(), `msg="dev cluster: stopped (data kept)"`) || postmasterPID(clusterDir) != 0 {
				t.Errorf("the last user out left the server running:\n%s", a.output())
			}

			// The port is kept in the cluster's own configuration.
			conf, err := os.ReadFile(filepath.Join(clusterDir, "data", "pgcluster.conf"))
			if err != nil || !strings.Contains(string(conf), "port = "+port+"\n") {
				t.Errorf("pgcluster.conf does not keep port %s: %v\n%s", port, err, conf)
			}
			again := startDevProcess(t, bin, repo, "conversations", "ls", "--dev-db")
			if err := again.exit(t); err != nil || strings.Count(again.output(), "\n") != 3 {
				t.Errorf("conversations ls --dev-db with the cluster stopped: %v\n%s", err, again.output())
			}
			if postmasterPID(clusterDir) != 0 {
				t.Error("the CLI started the dev cluster and left it running")
			}
			restarted := startDevProcess(t, bin, repo, "serve", "--dev-db", "--addr", "127.0.0.1:0")
			if got := restarted.waitFor(t, readyRe)[1]; got != port {
				t.Errorf("restarted on port %s, want the kept %s", got, port)
			}
			restarted.waitFor(t, servingRe)
			if err := restarted.interrupt(t); err != nil {
				t.Errorf("restarted serve: %v", err)
			}
		})
	}
}
